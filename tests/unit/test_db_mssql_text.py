"""The T-SQL the mssql dialect emits (no SQL Server runs here): exact text, parsed where sqlglot can."""

from __future__ import annotations


from tests.support import strict

from deploy.db import backup_commands as bc
from deploy.db import history, journal, lock, schema_introspect
from deploy.db.migrations import Migration, checksum
from deploy.db.scripts import render

M = Migration("20240101000000", "add_seller_ratings", "CREATE TABLE dbo.X (Id INT);\nGO\nALTER TABLE dbo.X ADD Y INT;\nGO\n",
              "DROP TABLE dbo.X;\nGO\n")


def parses(text: str) -> None:
    sqlglot = strict.need_module("sqlglot")
    parsed = sqlglot.parse(text, read="tsql", error_level=sqlglot.ErrorLevel.RAISE)
    assert parsed and not [e for e in parsed if isinstance(e, sqlglot.exp.Command)], text


def test_history_table_text():
    assert history.CREATE["mssql"].startswith(
        "IF OBJECT_ID(N'dbo.schema_migrations', N'U') IS NULL\nCREATE TABLE dbo.schema_migrations (\n"
        "    version NVARCHAR(14) NOT NULL CONSTRAINT PK_schema_migrations PRIMARY KEY,")
    assert "checksum CHAR(64) NOT NULL" in history.CREATE["mssql"]
    parses(history.CREATE["mssql"])


def test_one_migration_run_is_one_transaction_with_go_between_batches():
    text = render(history.apply_pieces(M, "o'brien@ci", "mssql"), "mssql")
    assert text == (
        "SET XACT_ABORT ON; BEGIN TRANSACTION\nGO\n"
        "INSERT INTO schema_migrations (version, name, checksum, applied_at, applied_by, execution_ms, success) "
        f"VALUES (N'20240101000000', N'add_seller_ratings', N'{checksum(M.up_sql)}', SYSUTCDATETIME(), "
        "N'o''brien@ci', 0, 1)\nGO\n"
        "CREATE TABLE dbo.X (Id INT);\nGO\n"
        "ALTER TABLE dbo.X ADD Y INT;\nGO\n"
        "UPDATE schema_migrations SET execution_ms = DATEDIFF(millisecond, applied_at, SYSUTCDATETIME()) "
        "WHERE version = N'20240101000000'\nGO\n"
        "COMMIT TRANSACTION\nGO\n")
    for batch in history.apply_pieces(M, "x", "mssql")[1:]:
        parses(batch)


def test_rollback_text():
    assert history.rollback_pieces([M], "mssql") == [
        "SET XACT_ABORT ON; BEGIN TRANSACTION", "DROP TABLE dbo.X;",
        "DELETE FROM schema_migrations WHERE version = N'20240101000000'", "COMMIT TRANSACTION"]


def test_lock_text():
    assert lock.mssql_acquire_sql("production") == (
        "SET NOCOUNT ON;\nDECLARE @result int;\n"
        "EXEC @result = sp_getapplock @Resource = N'marketplace-deploy:production', @LockMode = 'Exclusive', "
        "@LockOwner = 'Session', @LockTimeout = 0;\nSELECT @result AS result;")
    assert lock.mssql_release_sql("production") == (
        "EXEC sp_releaseapplock @Resource = N'marketplace-deploy:production', @LockOwner = 'Session';")
    parses(lock.mssql_acquire_sql("production"))
    parses(lock.mssql_release_sql("production"))
    parses(lock.CREATE["mssql"])


def test_backup_and_verify_text():
    # sqlglot has no grammar for BACKUP/RESTORE: the exact text is the test
    assert bc.mssql_backup_sql("MARKETPLACE_DB", r"C:\Backups\marketplace-20240101T120304000Z.bak") == (
        r"BACKUP DATABASE [MARKETPLACE_DB] TO DISK = N'C:\Backups\marketplace-20240101T120304000Z.bak' "
        "WITH COPY_ONLY, CHECKSUM, INIT")
    assert bc.mssql_verify_sql("/var/opt/mssql/backup/it's.bak") == (
        "RESTORE VERIFYONLY FROM DISK = N'/var/opt/mssql/backup/it''s.bak' WITH CHECKSUM")
    assert bc.mssql_backup_sql("odd]name", "/b.bak").startswith("BACKUP DATABASE [odd]]name] TO DISK")
    assert bc.mssql_restore_sql("M", "/b.bak") == [
        "ALTER DATABASE [M] SET SINGLE_USER WITH ROLLBACK IMMEDIATE",
        "RESTORE DATABASE [M] FROM DISK = N'/b.bak' WITH CHECKSUM, REPLACE",
        "ALTER DATABASE [M] SET MULTI_USER"]
    parses(bc.mssql_size_sql("MARKETPLACE_DB"))


def test_journal_text():
    sql, params = journal.select_sql("mssql", phase="phase2", action="release", outcome="ok", limit=1)
    assert sql == ('SELECT TOP (1) id, at, environment, phase, action, host, "release", actor, outcome, '
                   "duration_ms, details FROM deploy_events WHERE phase = ? AND action = ? AND outcome = ? "
                   "ORDER BY at DESC, id DESC")
    assert params == ["phase2", "release", "ok"]
    for statement in journal.CREATE["mssql"]:
        parses(statement)


def test_introspection_queries_parse():
    parses(schema_introspect.MSSQL_COLUMNS)
    parses(schema_introspect.MSSQL_INDEXES)
