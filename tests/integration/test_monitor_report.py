"""monitor.report: the success criteria on known data (SQLite and PostgreSQL), and the HTML page
rendered by headless Chromium (Debian's chromium) to prove the charts are drawn."""

from __future__ import annotations

import re
import struct
import subprocess
import zlib
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from deploy.db import journal
from tests.integration.test_monitor_support import SECRETS, StandinApi, make_project
from tests.support.strict import need_binary


@pytest.fixture(params=["sqlite", "postgres"])
def monitor_project(request, tmp_path):
    """A seeded project on SQLite, then on PostgreSQL; no API running."""
    return make_project(request.param, tmp_path, request)


def journal_rollout(project, now: datetime) -> None:
    """Phase 3's rollout events as it will journal them, plus the noise a shared journal holds."""
    with project.db() as db:
        for days_ago, details, outcome in ((40, {"percentage": 5}, "ok"), (20, {"percentage": 10}, "ok"),
                                           (12, {"percentage": 25}, "ok"), (8, {"percentage": 50}, "failed"),
                                           (6, {"percentage": "lots"}, "ok"), (5, {}, "ok"),
                                           (2, {"percentage": 50}, "ok")):
            journal.record(db, environment="t", phase="phase3", action="rollout", outcome=outcome, actor="ci",
                           details=details, at=now - timedelta(days=days_ago))
        journal.record(db, environment="other", phase="phase3", action="rollout", outcome="ok", actor="ci",
                       details={"percentage": 100}, at=now - timedelta(days=1))


def by_key(doc: dict) -> dict:
    return {c["key"]: c for c in doc["criteria"]}


def test_thirty_day_report_on_known_data(monitor_project):
    journal_rollout(monitor_project, datetime.now(timezone.utc))
    code, doc = monitor_project.json("monitor.report")
    assert code == 0, doc
    c = by_key(doc)
    assert list(c) == ["participation", "average_rating", "error_rate", "latency_p95", "inconsistencies"]
    assert (c["participation"]["measured"], c["participation"]["target"], c["participation"]["status"]) == (
        "70.00% (7 of 10 buyers)", ">= 20%", "pass")
    assert (c["average_rating"]["measured"], c["average_rating"]["status"]) == ("4.00 (8 ratings)", "pass")
    assert (c["inconsistencies"]["measured"], c["inconsistencies"]["status"]) == ("0 sellers", "pass")
    for key in ("error_rate", "latency_p95"):                 # no API is running: said, not passed
        assert c[key]["status"] == "no-data" and c[key]["measured"] == "host unreachable"
        assert "api-1" in c[key]["detail"]
    assert doc["counts"] == {"pass": 3, "fail": 0, "no-data": 2}
    assert [p["percentage"] for p in doc["rollout"]] == [5, 10, 25, 50]
    assert doc["hosts"] == [{"host": "api-1", "state": "unreachable", "detail": "connection refused"}]


def test_ninety_day_report_on_known_data(monitor_project):
    code, doc = monitor_project.json("monitor.report", "--days", "90")
    assert code == 0, doc
    c = by_key(doc)
    assert list(c) == ["participation", "seller_coverage", "average_rating", "error_rate", "latency_p95",
                       "inconsistencies", "satisfaction"]
    assert (c["participation"]["measured"], c["participation"]["target"], c["participation"]["status"]) == (
        "80.00% (8 of 10 buyers)", ">= 40%", "pass")
    assert (c["seller_coverage"]["measured"], c["seller_coverage"]["status"]) == (
        "66.67% (2 of 3 active sellers)", "fail")
    assert (c["average_rating"]["measured"], c["average_rating"]["status"]) == ("3.67 (9 ratings)", "fail")     # 33 / 9: the 1 from 40 days ago counts
    assert c["error_rate"]["target"] == "< 0.1%"
    assert (c["satisfaction"]["measured"], c["satisfaction"]["status"]) == ("no data source", "no-data")


def test_report_as_csv(monitor_project):
    proc = monitor_project.run("monitor.report", "--csv")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "criterion,measured,target,result,detail"
    assert lines[1].startswith("Buyers with a completed order who rated a seller,70.00% (7 of 10 buyers),>= 20%,pass,")


# -- the HTML page in a real browser ---------------------------------------------------------------------
BAR, DISTRIBUTION, LINE = (0x2B, 0x6C, 0xB0), (0xD6, 0x9E, 0x2E), (0x2F, 0x85, 0x5A)


def png_pixels(path: Path) -> tuple[int, int, list[bytes]]:
    """A small PNG reader (8-bit RGB/RGBA, not interlaced: what Chromium writes) -> rows of pixels."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", chunk)
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    width, height, depth, color, _, _, interlace = header
    assert depth == 8 and color in (2, 6) and interlace == 0, header
    bpp = 3 if color == 2 else 4
    raw, stride, rows, prev = zlib.decompress(idat), width * bpp, [], bytearray(width * bpp)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], (prev[i - bpp] if i >= bpp else 0)
            if kind == 1:
                line[i] = (line[i] + a) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + b) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 0xFF
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
        rows.append([bytes(line[j:j + 3]) for j in range(0, stride, bpp)])
        prev = line
    return width, height, rows


def count_colour(rows, rgb: tuple[int, int, int]) -> int:
    target = bytes(rgb)
    return sum(1 for row in rows for px in row if px == target)


def chromium(*args: str, profile: Path) -> subprocess.CompletedProcess:
    binary = need_binary("chromium")
    return subprocess.run([binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                           "--hide-scrollbars", f"--user-data-dir={profile}", *args],
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)


def test_html_report_shows_its_charts_in_chromium(tmp_path, request):
    need_binary("chromium")
    project = make_project("sqlite", tmp_path, request)
    now = datetime.now(timezone.utc)
    journal_rollout(project, now)
    page = tmp_path / "out" / "report.html"
    with StandinApi(project.api_port, project.url, tmp_path) as api:
        assert [api.get("/api/v1/ratings/seller/1") for _ in range(25)] == [200] * 25
        code, doc = project.json("monitor.report", "--html", str(page))
    assert code == 0, doc
    assert doc["html"] == str(page.resolve())
    c = by_key(doc)
    assert c["error_rate"]["status"] == "pass" and c["error_rate"]["measured"] == "0.000% (0 of 25 requests)"
    assert c["latency_p95"]["status"] == "pass"

    html = page.read_text()
    for secret in SECRETS:
        assert secret not in html
    assert not re.search(r"<script|<link|(src|href)=\"https?:", html)      # self-contained

    dom = chromium("--dump-dom", page.as_uri(), profile=tmp_path / "chrome-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    svgs = dict(re.findall(r'<svg[^>]* id="(chart-[a-z-]+)"[^>]*>(.*?)</svg>', dom.stdout, re.S))
    assert set(svgs) == {"chart-ratings-per-day", "chart-rating-distribution", "chart-rollout"}
    per_day = [int(v) for v in re.findall(r'class="bar" data-label="[^"]*" data-value="(\d+)"',
                                          svgs["chart-ratings-per-day"])]
    assert len(per_day) == 30 and per_day[-4:] == [1, 2, 2, 2] and sum(per_day) == 8
    assert re.findall(r'class="bar" data-label="([^"]*)" data-value="(\d+)"', svgs["chart-rating-distribution"]) == [
        ("5 stars", "3"), ("4 stars", "3"), ("3 stars", "1"), ("2 stars", "1"), ("1 star", "0")]
    assert "<polyline" in svgs["chart-rollout"]
    assert re.findall(r'class="point" data-value="(\d+)"', svgs["chart-rollout"]) == ["5", "10", "25", "50"]
    assert 'data-key="participation" data-status="pass"' in dom.stdout

    shot = tmp_path / "report.png"
    run = chromium("--window-size=900,2200", f"--screenshot={shot}", page.as_uri(), profile=tmp_path / "chrome-shot")
    assert run.returncode == 0 and shot.is_file(), run.stderr[-2000:]
    width, height, rows = png_pixels(shot)
    assert (width, height) == (900, 2200)
    # the bars and the line are painted in their own colours: each chart is really on screen
    assert count_colour(rows, BAR) > 500
    assert count_colour(rows, DISTRIBUTION) > 2000
    assert count_colour(rows, LINE) > 300
