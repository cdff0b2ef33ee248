"""The Node API's own commands, as the runbook runs them, on a fresh `npm ci`: build (prisma
generate + tsc to dist/index.js), typecheck (tsc --noEmit) and test (node --test); then the built
API - its release artifact, unpacked (node_modules linked from the cache it was packed from) -
against a real PostgreSQL migrated by the pipeline, through Prisma's pg driver adapter."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import urllib.error
import urllib.request

import jwt
import pytest

from deploy.db import migrate
from deploy.db.connect import connect
from tests.integration.test_node_cluster_fleet import node_tarball  # noqa: F401  (the build, made once)
from tests.support.node_app import build_env, source_copy, unpacked
from tests.support.postgres import BASE_SCHEMA, SQL_ROOT, _postgres_target
from tests.support.ports import free_port

SECRET = "node-api-test-secret-" + "y" * 24


def npm(folder, *args, timeout=600):
    env = {**os.environ, **build_env()}
    return subprocess.run(["npm", *args], cwd=folder, env=env, capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


def test_build_typecheck_and_test(tmp_path):
    app = source_copy("commands")
    try:
        for args in (("run", "typecheck"), ("test",)):
            proc = npm(app, *args)
            assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        assert (app / "dist" / "index.js").is_file()
        assert "# fail 0" in proc.stdout and "# pass 9" in proc.stdout
        # a type error fails the runbook's `npx tsc --noEmit` (the client generated above is unchanged:
        # no `prisma generate` again)
        (app / "src" / "broken.ts").write_text("export const n: number = 'text';\n")
        broken = subprocess.run(["npx", "tsc", "--noEmit"], cwd=app, env={**os.environ, **build_env()},
                                capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)
        assert broken.returncode != 0 and "TS2322" in broken.stdout + broken.stderr
    finally:
        shutil.rmtree(app, ignore_errors=True)


@pytest.fixture
def migrated_target_pg(request, tmp_path):
    """A fresh PostgreSQL database with the base schema and the pipeline's migrations."""
    config, root = _postgres_target(request, tmp_path)
    db = connect(config, root)
    try:
        db.script(BASE_SCHEMA["postgres"])
        migrate.apply(db, SQL_ROOT, actor="fixture")
    finally:
        db.close()
    return config, request.getfixturevalue("postgres")


def _call(url, token=None, body=None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    data = None
    if body is not None:
        data, headers["Content-Type"] = json.dumps(body).encode(), "application/json"
    request = urllib.request.Request(url, data=data, headers=headers, method="POST" if body is not None else "GET")
    try:
        with urllib.request.urlopen(request, timeout=5) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"{}")


def test_the_api_on_postgres_through_the_prisma_adapter(tmp_path, migrated_target_pg, node_tarball):  # noqa: F811
    """The release artifact (npm run build's output, packed by the pipeline: built once for the run,
    tests/support/node_app.built_once), not a build of its own: the build is the subject of
    test_build_typecheck_and_test and of the twin's preflight."""
    db_config, cluster = migrated_target_pg
    app = tmp_path / "release"
    proc = None
    try:
        unpacked(node_tarball, app)
        (app / "VERSION").write_text("20260101000000-pgtest\n")
        port = free_port()
        url = f"postgresql://{cluster.user}:{cluster.password}@127.0.0.1:{cluster.port}/{db_config.name}"
        env_file = tmp_path / "api.env"
        env_file.write_text(f"DATABASE_URL={url}\nJWT_SECRET={SECRET}\nHOST=127.0.0.1\nPORT={port}\n"
                            "ENABLE_RATING_FEATURE=true\nRATING_ROLLOUT_PERCENTAGE=10\n")
        proc = subprocess.Popen(["node", "dist/index.js", "--env-file", str(env_file)], cwd=app,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                status, health = _call(f"{base}/health")
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read() if proc.poll() else "slow"
                time.sleep(0.2)
        assert status == 200 and health["database"] == "ok" and health["version"] == "20260101000000-pgtest"
        assert health["flag"] == {"enabled": True, "percentage": 10, "name": "rating"}
        cluster.psql("INSERT INTO \"Users\" (\"FullName\", \"Email\") VALUES ('Seller', 's@x'), ('Buyer', 'b@x');"
                     "INSERT INTO \"Orders\" (\"BuyerId\", \"SellerId\", \"Status\") VALUES (2, 1, 'completed')",
                     dbname=db_config.name)
        token = jwt.encode({"sub": "2"}, SECRET, algorithm="HS256")
        assert _call(f"{base}/api/v1/ratings/seller/1")[0] == 401
        assert _call(f"{base}/api/v1/ratings/can-rate/1", token) == (200, {"canRate": True, "reason": "eligible"})
        status, created = _call(f"{base}/api/v1/ratings", token, {"sellerId": 1, "rating": 4, "comment": "ok"})
        assert status == 201, created
        assert created["seller"]["totalRatings"] == 1 and created["seller"]["averageRating"] == 4
        row = cluster.psql('SELECT "TotalRatings", "PositiveRatings", "SellerRating" FROM "Users" WHERE "Id" = 1',
                           dbname=db_config.name)
        assert row == "1|1|4.00"
        assert _call(f"{base}/api/v1/ratings", token, {"sellerId": 1, "rating": 5})[0] == 409
        status, page = _call(f"{base}/api/v1/ratings/seller/1", token)
        assert status == 200 and page["ratings"][0]["raterName"] == "Buyer" and page["ratings"][0]["comment"] == "ok"
        # the migration rolled back: the API says so instead of failing on every query
        cluster.psql('DROP TABLE "SellerRatings"', dbname=db_config.name)
        assert _call(f"{base}/health")[1]["database"] == "schema-missing"
    finally:
        if proc and proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=10)
        shutil.rmtree(app, ignore_errors=True)
