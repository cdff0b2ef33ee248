"""The database layer: one DB-API path for SQL Server, PostgreSQL and SQLite.

connect           Database: connection, timeouts, transactions as SQL text (pyodbc | sqlite3)
odbc              pure: read/rewrite ODBC connection strings (the SSH-tunnel hook rewrites Server)
sqltext, tsql     pure: split scripts on ';' and T-SQL on GO lines;  scripts: pieces <-> script text
migrations        pure: discovery, naming rules, checksums, states, drift
history           pure: schema_migrations and the exact SQL one migration run executes
migrate           status / plan / render / apply / rollback against a Database
backup            verified backups, pruning, restore;  backup_commands: their pure builders
runner            the Runner protocol (run/get) and LocalRunner
schema            verify the live schema against checks/schema.yaml (schema_spec, schema_introspect)
run_database      a task's database: its connection, sql/ and schema spec, the verified backup step
journal           deploy_events;  lock: the deploy lock held by the task's own session
aggregates        seller-rating backfill, the set-based discrepancy check, top sellers
hold              a deploy hold: deploys frozen on purpose (an incident, a sale) until someone releases it
tsql_guard        pure: find PostgreSQL/SQLite/MySQL-only syntax in T-SQL text, with its line
"""
