"""Stand-in marketplace app: the API and web processes the deployment pipeline rolls out.

It plays the runbook's apps/api (Node) and apps/web (SvelteKit) with the standard library plus
PyJWT, so the pipeline can deploy, health-check, flag and roll back something real.
"""
