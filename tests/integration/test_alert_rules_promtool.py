"""The rules `monitor.rules` renders, run by Debian's promtool: `check rules` accepts them, and the
`promtool test rules` fixtures (promtool/alert_rules_test.yml) prove each alert fires on a series
made to trip it and stays quiet on the others. A threshold moved in checks/alerts.yaml moves the
alert (the fixtures then fail), and the task writes only a file promtool accepted."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from deploy.errors import StepFailed
from deploy.monitoring import prom_rules, rendered
from deploy.monitoring.alerts_spec import AlertSpec
from tests.support import strict

FIXTURES = Path(__file__).parent / "promtool" / "alert_rules_test.yml"


@pytest.fixture
def promtool() -> str:
    return strict.need_binary("promtool")


def unit_test(promtool: str, folder: Path, spec: AlertSpec) -> subprocess.CompletedProcess:
    shutil.copy(FIXTURES, folder / "test.yml")
    (folder / "rules.yml").write_text(prom_rules.render(spec, "test"))
    return subprocess.run([promtool, "test", "rules", "test.yml"], cwd=folder, capture_output=True, text=True,
                          timeout=60)


def test_each_alert_fires_on_its_series_and_stays_quiet_otherwise(promtool, tmp_path):
    proc = unit_test(promtool, tmp_path, AlertSpec())
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SUCCESS" in proc.stdout


def test_a_threshold_moved_in_the_spec_moves_the_alert(promtool, tmp_path):
    looser = AlertSpec.model_validate({"error_rate": {"max_percent": 25}, "rate_limit": {"max_hits": 200}})
    proc = unit_test(promtool, tmp_path, looser)
    assert proc.returncode == 1
    said = proc.stdout + proc.stderr
    failed = [line.strip() for line in said.splitlines() if line.strip().startswith("alertname:")]
    assert [f.split(",")[0] for f in failed] == ["alertname: MarketplaceApiErrorRate",
                                                 "alertname: MarketplaceApiRateLimited"], said


def test_check_rules_accepts_the_rendered_file_and_a_refused_one_is_not_written(promtool, tmp_path):
    out = tmp_path / "rules.yml"
    written = rendered.write_checked(prom_rules.render(AlertSpec(), "t"), out, [promtool, "check", "rules"])
    assert written.path == str(out) and "SUCCESS: 4 rules found" in written.check
    before = out.read_text()
    with pytest.raises(StepFailed, match="promtool refused the rendered file"):
        rendered.write_checked("groups:\n- name: x\n  rules:\n  - alert: A\n    expr: 'sum(('\n", out,
                               [promtool, "check", "rules"])
    assert out.read_text() == before                               # nothing half-written
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rules.yml"]
