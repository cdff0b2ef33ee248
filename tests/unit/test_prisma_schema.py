"""examples/marketplace-node/prisma/schema.prisma describes exactly the schema the pipeline's
migrations leave behind: every table of checks/schema.yaml is a model with the same columns
(name, type family, nullability) and the same indexes; the models beyond it are the base tables
of examples/marketplace/schema/postgres.sql, column for column. Either file drifting fails here."""

import re
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
PRISMA = REPO / "examples" / "marketplace-node" / "prisma" / "schema.prisma"
BASE_SQL = REPO / "examples" / "marketplace" / "schema" / "postgres.sql"
FAMILY = {"Int": "integer", "BigInt": "integer", "Decimal": "decimal", "Float": "decimal", "String": "text",
          "DateTime": "datetime", "Boolean": "boolean", "Bytes": "binary"}
SCALARS = set(FAMILY)


def parse_prisma(text: str) -> dict[str, dict]:
    """table -> {"columns": {name: (family, nullable)}, "indexes": [(columns, unique)]}."""
    tables = {}
    for model, body in re.findall(r"^model\s+(\w+)\s*\{(.*?)^\}", text, re.S | re.M):
        fields, columns, indexes, table = {}, {}, [], model
        for line in body.splitlines():
            line = line.split("//")[0].strip()
            if not line:
                continue
            if line.startswith("@@"):
                if m := re.match(r'@@map\("(\w+)"\)', line):
                    table = m.group(1)
                elif m := re.match(r"@@(unique|index)\(\[([^\]]*)\]", line):
                    indexes.append(([f.strip() for f in m.group(2).split(",")], m.group(1) == "unique"))
                continue
            name, kind, *rest = line.split(None, 2)
            attrs = rest[0] if rest else ""
            base = kind.rstrip("?[]")
            if base not in SCALARS:
                continue       # a relation field, no column
            column = re.search(r'@map\("(\w+)"\)', attrs)
            fields[name] = column.group(1) if column else name
            columns[fields[name]] = (FAMILY[base], kind.endswith("?"))
            if re.search(r"@unique\b", attrs):
                indexes.append(([name], True))
        tables[table] = {"columns": columns,
                         "indexes": [([fields[f] for f in cols], unique) for cols, unique in indexes]}
    return tables


def base_tables(sql: str) -> dict[str, list[str]]:
    """table -> column names, from the base schema's CREATE TABLE statements."""
    out = {}
    for table, body in re.findall(r'CREATE TABLE IF NOT EXISTS "(\w+)" \((.*?)\n\);', sql, re.S):
        out[table] = re.findall(r'^\s+"(\w+)"\s+[A-Z]', body, re.M)
    return out


def test_the_prisma_schema_is_the_migrated_schema():
    prisma = parse_prisma(PRISMA.read_text())
    spec = yaml.safe_load((REPO / "checks" / "schema.yaml").read_text())["tables"]
    assert set(spec) <= set(prisma), f"models missing for {set(spec) - set(prisma)}"
    for table, want in spec.items():
        got = prisma[table]
        assert got["columns"] == {c: (v["type"], v["nullable"]) for c, v in want["columns"].items()}, table
        want_indexes = sorted((i["columns"], bool(i.get("unique"))) for i in want.get("indexes", []))
        assert sorted(got["indexes"]) == want_indexes, table


def test_other_models_are_the_base_tables_column_for_column():
    prisma = parse_prisma(PRISMA.read_text())
    spec = yaml.safe_load((REPO / "checks" / "schema.yaml").read_text())["tables"]
    base = base_tables(BASE_SQL.read_text())
    assert "Orders" in base and "Users" in base
    for table in set(prisma) - set(spec):
        assert table in base, f"model of {table}, which no schema file creates"
        assert sorted(prisma[table]["columns"]) == sorted(base[table]), table
    # the base part of Users (the migration adds the rest)
    assert set(base["Users"]) <= set(prisma["Users"]["columns"])


def test_the_parser_sees_a_drift():
    text = PRISMA.read_text().replace('comment   String?  @map("Comment")', 'comment   String   @map("Comment")')
    assert parse_prisma(text)["SellerRatings"]["columns"]["Comment"] == ("text", False)
    dropped = PRISMA.read_text().replace('  @@index([raterId], map: "IX_SellerRatings_RaterId")\n', "")
    assert (["RaterId"], False) not in parse_prisma(dropped)["SellerRatings"]["indexes"]
