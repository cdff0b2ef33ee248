"""Pure builders: functions that return commands, never run them.

    haproxy.py  pure builders of HAProxy runtime API commands, and parsers of its answers
    release.py  pure builders for the release tree on a host, and the parser of what a host holds
    shell.py    the one quoting helper: every remote command is built from parts here
"""
