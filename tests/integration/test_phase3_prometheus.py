"""The metrics gate's prometheus source against a real Prometheus (Debian's `prometheus`) scraping
the stand-in API's /metrics on loopback every second: no data fails, healthy traffic passes, and
the API answering 503 (its rating table gone) fails on the error rate."""

from __future__ import annotations

import sqlite3
import subprocess
import textwrap
import time

import jwt
import pytest
import requests

from deploy.gates import metrics as mg
from tests.support import strict
from tests.support.envs import REPO, TEST_JWT_SECRET
from tests.support.ports import free_port

STANDIN = REPO / "examples" / "marketplace"
PYTHON = REPO / ".venv" / "bin" / "python"
MIGRATION = REPO / "sql" / "sqlite" / "migrations" / "20240101000000_add_seller_ratings.sql"


def wait_until(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"{what}: not within {timeout:g}s")


def answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=1).status_code == 200
    except requests.RequestException:
        return False


@pytest.fixture
def api(tmp_path):
    """The stand-in API on 127.0.0.1 with a seeded SQLite database (seller 1, buyer 2)."""
    db_file = tmp_path / "marketplace.db"
    db = sqlite3.connect(db_file)
    db.executescript((STANDIN / "schema" / "sqlite.sql").read_text())
    db.executescript(MIGRATION.read_text())
    db.execute('INSERT INTO "Users" ("Id", "FullName", "Email") VALUES (1, ?, ?), (2, ?, ?)',
               ("Seller One", "s1@example.com", "Buyer Two", "b2@example.com"))
    db.commit()
    db.close()
    port = free_port()
    env_file = tmp_path / "api.env"
    env_file.write_text(f"HOST=127.0.0.1\nPORT={port}\nDATABASE_URL=sqlite:///{db_file}\n"
                        f"JWT_SECRET={TEST_JWT_SECRET}\nRATE_LIMIT_MAX_REQUESTS=100000\nLOG_LEVEL=error\n")
    proc = subprocess.Popen([str(PYTHON), "-m", "marketplace.api", "--env-file", str(env_file)], cwd=STANDIN,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    try:
        wait_until(lambda: answers(f"http://127.0.0.1:{port}/health"), 15, "the stand-in API")
        yield {"base": f"http://127.0.0.1:{port}", "port": port, "db": db_file}
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def prometheus(tmp_path, api):
    binary = strict.need_binary("prometheus")
    port = free_port()
    config = tmp_path / "prometheus.yml"
    config.write_text(textwrap.dedent(f"""
        global:
          scrape_interval: 1s
          evaluation_interval: 1s
        scrape_configs:
          - job_name: marketplace-api
            static_configs:
              - targets: ["127.0.0.1:{api['port']}"]
    """))
    proc = subprocess.Popen([binary, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                             f"--web.listen-address=127.0.0.1:{port}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: answers(f"{url}/-/ready"), 30, "prometheus")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def traffic(base: str, count: int, per_second: int = 20, deadline: float = 60) -> dict[int, int]:
    """Bounded: `count` can-rate requests with a token at a steady pace (a count, not a time, so a
    busy machine sends as many), given up after `deadline` seconds."""
    token = jwt.encode({"sub": "2"}, TEST_JWT_SECRET, algorithm="HS256")
    statuses: dict[int, int] = {}
    end = time.monotonic() + deadline
    with requests.Session() as session:
        for _ in range(count):
            if time.monotonic() > end:
                break
            status = session.get(f"{base}/api/v1/ratings/can-rate/1", timeout=5,
                                 headers={"Authorization": f"Bearer {token}"}).status_code
            statuses[status] = statuses.get(status, 0) + 1
            time.sleep(1 / per_second)
    return statuses


def scraped(url: str) -> bool:
    """Prometheus has scraped the API (its `up` series is 1)."""
    value, _ = mg.prom_query(url, 'up{job="marketplace-api"}', 2)
    return value == 1


def judge(url: str, window: float) -> mg.GateVerdict:
    spec = mg.RolloutSpec(gate=mg.GateSettings(source="prometheus", min_samples=10),
                          prometheus=mg.PrometheusSettings(url=url, lookback=window))
    return mg.measure(spec, [], observing=0)


def test_prometheus_source_no_data_then_pass_then_5xx_fails(api, prometheus):
    wait_until(lambda: scraped(prometheus), 15, "the first scrape")
    empty = judge(prometheus, 30)
    assert not empty.ok
    assert empty.reasons[0] == "no sample count: empty result (no data)"     # no request yet: no evidence

    assert traffic(api["base"], 60) == {200: 60}
    good = wait_until(lambda: (v := judge(prometheus, 30)).measurement.samples and
                      v.measurement.samples >= 30 and v, 15, "the traffic in Prometheus")
    assert good.ok, good.reasons
    assert good.measurement.error_percent == 0
    assert 0 < good.measurement.p95_seconds < 0.5

    db = sqlite3.connect(api["db"])
    db.execute('ALTER TABLE "SellerRatings" RENAME TO "SellerRatings_off"')      # the 5xx switch
    db.commit()
    db.close()
    assert traffic(api["base"], 60) == {503: 60}
    broken = wait_until(lambda: (v := judge(prometheus, 3)).measurement.error_percent and
                        v.measurement.error_percent > 50 and v, 15, "the 503s in Prometheus")
    assert not broken.ok
    assert [r for r in broken.reasons if r.startswith("error rate ")], broken.reasons
