"""The database layer: one DB-API path for SQL Server, PostgreSQL and SQLite.

connect      Database: connection, timeouts, transactions (pyodbc | sqlite3)
migrations   pure: discovery, naming rules, checksums, the SQL a migration run executes
migrate      status / plan / render / apply / rollback against a Database
tsql         pure: split T-SQL on GO lines;  sqltext: pure statement splitting
backup       verified backups and restore;  backup_commands: the pure builders for them
schema       verify the live schema against checks/schema.yaml
journal      deploy_events;  lock: the deploy lock held by the task's own session
aggregates   seller-rating backfill and the set-based discrepancy check
"""
