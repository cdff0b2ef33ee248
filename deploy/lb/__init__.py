"""The load balancer: HAProxy's runtime API, hosts left out of traffic.

    admin.py      HAProxy's runtime API over its admin socket: drain, maint, ready
    leftovers.py  after a failed run: the hosts the LB may still hold out of traffic
"""
