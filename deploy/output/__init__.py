"""What the tool says: terminal and --json, progress, JUnit, chat messages.

    console.py   human output (rich) and the --json summary; everything printed is masked
    junit.py     JUnit XML for CI: one test case per check
    notify.py    phase messages to the team's chat (Slack-compatible webhooks)
    progress.py  one live status line per long wait, on a terminal only
"""
