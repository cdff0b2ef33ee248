"""The pre-deployment checklist's sections, in the order they run.

Imports nothing: `checks.preflight --help` names them without loading the spec's models."""

SECTIONS = ("env", "commands", "database", "migrations", "hosts", "tls", "lb")
