"""The demo's users, traffic and claims.

    claims.py           pure: does what the demo observed hold up what the README says
    reuse.py            whether a demo re-run may skip the apps' test/build commands
    rollout_traffic.py  users between the rollout's steps, checked against the bucketing
    traffic.py          real users, bounded: buyers rate their sellers through the API
"""
