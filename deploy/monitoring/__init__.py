"""Monitoring: the runbook's "Monitoring & Analytics", "Success Criteria" and "Common Issues".

Pure (no I/O), tested without a database or a network:
  sqlparams     :name placeholders in the SQL files -> qmark SQL + ordered parameters
  periods       time windows (days, ISO weeks, rolling hours) and filling gaps in series
  flags         the tasks' flags, parsed once (a bad value is one line, exit 2)
  tabular       results -> named tables; CSV text
  prometheus    the Prometheus text format -> samples
  histogram     histogram buckets -> quantiles (histogram_quantile's interpolation)
  api_stats     a host's samples (or the delta of two scrapes) -> requests, 5xx, p95, 429s
  alerts_spec   checks/alerts.yaml -> a validated spec
  alerts        the alert rules: measured values + spec -> alerts
  webhook       the Slack-compatible message (and the one POST that sends it)
  metric_names  the API's metric names and matchers (the gate, the scraper and the rules read them)
  alert_catalog each rule's alertname and the invoke task that helps (its runbook annotation)
  prom_rules    checks/alerts.yaml -> a Prometheus alerting rules file (monitor.rules)
  am_config     notify.alertmanager -> an Alertmanager config (monitor.alertmanager-config)
  am_alerts     the database alerts as Alertmanager API v2 alerts (and the POST that sends them)
  criteria      the success criteria: measured values -> pass / fail / no-data
  rollout       journal events -> the rollout percentage over time
  charts        inline SVG charts;  report_html renders templates/report.html.j2

I/O:
  queries       the engagement queries (sql/<dialect>/monitoring/*.sql) -> typed rows
  scrape        GET /metrics from each API host (once, or twice over a window)
  collect       gathers what metrics, alerts and the report measure (database + hosts)
  alerting      monitor.alerts: measure, judge, notify (webhook or Alertmanager)
  rendered      write a rendered file only after its checker (promtool, amtool) passed
  recalculate   the set-based aggregate fix under the executor (backup, lock, journal)
  present       tables to the terminal or CSV to stdout
"""
