"""db.diagnose: the runbook's "High API latency" and "Duplicate rating errors" checks, as code.

    probes.py    the app's rating queries (sql/<dialect>/diagnose/) and the EXPLAIN text per dialect
    plans.py     pure parsers of SQLite and SQL Server plans into one small model
    pg_plan.py   pure parser of PostgreSQL's EXPLAIN (FORMAT JSON)
    model.py     what is gathered (Evidence) and concluded (Finding)
    rules.py     pure: indexes, plans, counts and timings -> plain-language findings
    collect.py   the reads (catalogue, counts, plans) against a live database
    timing.py    times the monitoring and aggregate queries
    report.py    the findings for people (rich) and for CI (--json)
"""
