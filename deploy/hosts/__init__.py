"""Hosts and the Fleet (the only runners), host facts, an SSH tunnel to the database.

    facts.py   facts about a host: one command, a pure parser
    fleet.py   Host (SSH or local) and the Fleet: the only runners, in batches
    tunnel.py  an SSH tunnel to a database only the fleet can see
"""
