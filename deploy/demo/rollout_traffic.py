"""The demo's traffic between the rollout's steps: users reading through the API and opening a
seller's page on the web app, so each step is judged on live requests - and the page shows
which users see the rating UI, checked against the bucketing (deploy.flag.rollout) user by user.

Bounded in count and aimed only at the configured hosts' addresses (the API's read limit allows
RATE_LIMIT_MAX_REQUESTS per client per window: keep `users` well below it).
"""

from __future__ import annotations

import re
import sys
from collections import Counter

from deploy.config import environment as config
from deploy.releases import steps as releases
from deploy.demo.claims import reads_problems
from deploy.flag.rollout import in_rollout
from deploy.demo.traffic import token

FEATURE = re.compile(r'data-rating-feature="(on|off)"')


def serve_users(env_name: str, users: int = 60, seller: int = 1) -> int:
    """Users 1..N read seller `seller`'s ratings (API) and open their page (web, SSR); 1 when a
    page disagrees with the bucketing, an answer is not 200, or the apps do not answer."""
    import requests  # here, not at the top: loaded when traffic is sent, not by every importer

    env = config.load(env_name)
    api_host = env.hosts_with(env.apps["api"].role)[0]
    web_host = env.hosts_with(env.apps["web"].role)[0]
    api, web = releases.base_url(env, "api", api_host), releases.base_url(env, "web", web_host)
    secret = env.app_env("api")["JWT_SECRET"]
    statuses: Counter = Counter()
    pages: Counter = Counter()
    seen, wrong = [], []
    with requests.Session() as http:
        http.trust_env = False
        try:
            flag = http.get(f"{web}/health", timeout=5).json()["flag"]
        except (requests.RequestException, ValueError, KeyError) as exc:
            print(f"the web app does not answer at {web}/health: {exc}", file=sys.stderr)
            return 1
        for user in range(1, users + 1):
            auth = {"Authorization": f"Bearer {token(secret, user)}"}
            statuses[http.get(f"{api}/api/v1/ratings/seller/{seller}", headers=auth, timeout=5).status_code] += 1
            page = http.get(f"{web}/sellers/{seller}", params={"user": user}, timeout=5)
            pages[page.status_code] += 1
            shown = FEATURE.search(page.text)
            on = bool(shown and shown.group(1) == "on")
            seen.append(on)
            if on != (flag["enabled"] and in_rollout(flag["name"], user, flag["percentage"])):
                wrong.append(user)
    pct = flag["percentage"] if flag["enabled"] else 0
    codes = ", ".join(f"{code}: {n}" for code, n in sorted(statuses.items()))
    print(f"API: {sum(statuses.values())} reads ({codes}); web: {sum(seen)} of {users} users see the "
          f"rating UI at {pct}%" + ("" if wrong else ", each as the bucketing says"))
    problems = reads_problems(statuses, pages)
    for problem in problems:
        print(f"claim does not hold (users read the API and seller pages): {problem}", file=sys.stderr)
    if wrong:
        print(f"users whose page disagrees with the bucketing: {wrong[:10]}", file=sys.stderr)
    return 1 if wrong or problems else 0
