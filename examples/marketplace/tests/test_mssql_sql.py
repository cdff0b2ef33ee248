"""SQL Server cannot run here, so its T-SQL is checked as text: parsed with sqlglot's tsql
dialect (the schema file, and every statement the rating rules send on SQL Server)."""

from __future__ import annotations

import unittest

from marketplace import ratings
from marketplace.dialects import DIALECTS
from tests import support

try:
    import sqlglot
    from sqlglot import exp
except ImportError:  # sqlglot is a test extra of the pipeline project, not of the app
    sqlglot = None


def parse(sql: str):
    support.need(sqlglot is not None, "needs sqlglot to parse T-SQL")
    return sqlglot.parse(sql, read="tsql", error_level=sqlglot.ErrorLevel.RAISE)


class RecordingSession:
    """Stands in for a SQL Server cursor: records each statement, answers what the rules ask."""

    dialect = DIALECTS["mssql"]

    def __init__(self):
        self.statements: list[str] = []

    def _answer(self, sql: str):
        if 'JOIN "Users" u' in sql:
            return (10, 1, 2, "Rater", 5, None, None, None)
        if '"SellerRating", "TotalRatings"' in sql:
            return (1, "Seller", 4.5, 2, 1)
        return (1,)

    def one(self, sql, params=()):
        self.statements.append(sql)
        return self._answer(sql)

    def all(self, sql, params=()):
        self.statements.append(sql)
        return [self._answer(sql)]

    def scalar(self, sql, params=()):
        self.statements.append(sql)
        if 'FROM "SellerRatings" WHERE "SellerId"' in sql:
            return None  # not rated yet
        return 10 if "OUTPUT INSERTED" in sql else 1

    def execute(self, sql, params=()):
        self.statements.append(sql)
        return 1


class MssqlSchemaTest(unittest.TestCase):
    def test_schema_file_parses(self):
        text = (support.APP_ROOT / "schema" / "mssql.sql").read_text()
        batches = DIALECTS["mssql"].split_script(text)
        self.assertEqual(len(batches), 4)
        created = {}
        for batch in batches:
            for statement in parse(batch):
                for create in statement.find_all(exp.Create):
                    target = create.this
                    name = target.this.name if isinstance(target, exp.Schema) else target.name
                    columns = [c.name for c in create.find_all(exp.ColumnDef)]
                    created[name] = columns
        self.assertEqual(created["Users"], ["Id", "FullName", "Email", "CreatedAt"])
        self.assertEqual(created["Orders"], ["Id", "BuyerId", "SellerId", "Status", "CreatedAt"])
        self.assertIn("IX_Orders_BuyerId", created)
        self.assertIn("IX_Orders_SellerId", created)


class MssqlStatementsTest(unittest.TestCase):
    def test_rating_rules_emit_valid_tsql(self):
        s = RecordingSession()
        ratings.list_ratings(s, 1, 20, 40)
        ratings.eligibility(s, 2, 1)
        ratings.create(s, 2, 1, 5, "ok")
        ratings.update(s, 2, 10, {"rating": 3, "comment": None})
        ratings.delete(s, 2, 10)
        self.assertGreater(len(s.statements), 10)
        for sql in s.statements:
            tree = parse(sql.replace("?", "1"))
            self.assertEqual(len(tree), 1, sql)
        joined = "\n".join(s.statements)
        self.assertIn("OFFSET ? ROWS FETCH NEXT ? ROWS ONLY", joined)
        self.assertIn('OUTPUT INSERTED."Id"', joined)
        self.assertIn("WITH (UPDLOCK, ROWLOCK)", joined)
        self.assertIn("SYSUTCDATETIME()", joined)
        self.assertNotIn("RETURNING", joined)
        self.assertNotIn("LIMIT", joined)

    def test_bulk_recompute_parses(self):
        self.assertEqual(len(parse(ratings.RECOMPUTE_RANGE.replace("?", "1"))), 1)


if __name__ == "__main__":
    unittest.main()
