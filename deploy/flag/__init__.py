"""The feature flag: units on the hosts, its journal, the stage policy.

    journal.py  what the journal says about the flag and the soak clocks
    rollout.py  pure: the stage policy, the soak gates, the reference bucketing
    units.py    the flag on the hosts: read, write, reload, check what each unit serves
"""
