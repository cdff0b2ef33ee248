"""The artifact, a host's releases and the steps on them, the two slots, disk room.

    artifact.py   the release artifact: built once, packed, checksummed
    disk_room.py  room for a release on a host, measured before the first byte is sent
    slots.py      blue and green: an app's two slots on a host for the side-by-side switch (pure)
    steps.py      releases on hosts: Exec/Upload/Artifact steps that upload, switch, restart, revert
"""
