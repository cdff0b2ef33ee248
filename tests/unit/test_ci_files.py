"""The CI pipeline definitions in examples/ci/ (GitHub Actions, GitLab CI): the YAML parses, the
jobs run in the rollout's order with the approval, concurrency, secrets and artifact where they
belong, and every `invoke TASK --flags` line in them names a task `invoke --list` shows with
only flags `invoke --help TASK` lists (invoke runs in a subprocess from the repository, so a task
or flag renamed or not written yet fails here). The retry script treats exit 4 as "not yet"."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pytest
import yaml

from tests.support import invoke_fork

REPO = Path(__file__).resolve().parents[2]
CI = REPO / "examples" / "ci"
GITHUB = CI / "github-actions.yml"
GITLAB = CI / "gitlab-ci.yml"
RETRY = CI / "retry-while-not-yet.sh"

ORDER = ["phase1", "phase2", "soak", "rollout-25", "rollout-50", "rollout-100", "phase4"]
STAGES = {"soak": 10, "rollout-25": 25, "rollout-50": 50, "rollout-100": 100}
SECRETS = ["JWT_SECRET", "DB_PASSWORD", "DEPLOY_WEBHOOK_URL"]
PLAIN = ["DB_USER"]      # plain values (not under `secrets:` in environments/*.yaml): CI variables
SSH_KEY = "DEPLOY_SSH_KEY"
ARTIFACT = "dist/api.tar.gz"
GITLAB_KEYWORDS = {"default", "include", "stages", "variables", "workflow", "image", "services", "cache",
                   "before_script", "after_script"}


# -- invoke, asked in a subprocess ----------------------------------------------------------------
def invoke(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEPLOY_")}
    return invoke_fork.run([sys.executable, "-m", "invoke", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=60, stdin=subprocess.DEVNULL)


@lru_cache(maxsize=1)
def task_names() -> frozenset[str]:
    proc = invoke("--list", "--list-format=json")
    assert proc.returncode == 0, proc.stderr

    def walk(collection: dict, prefix: str) -> list[str]:
        names = [prefix + t["name"] for t in collection["tasks"]]
        for sub in collection["collections"]:
            names += walk(sub, prefix + sub["name"] + ".")
        return names
    return frozenset(walk(json.loads(proc.stdout), ""))


@dataclass(frozen=True)
class Flag:
    long: str
    short: str | None
    takes_value: bool


_OPTION = re.compile(r"^\s+(?:(-\w)(?: \w+)?, )?--([\w-]+)(=\w+)?")


def parse_help(text: str) -> dict[str, Flag]:
    """`invoke --help TASK` -> {"--long": Flag, "-s": Flag}."""
    flags: dict[str, Flag] = {}
    for line in text.split("Options:", 1)[-1].splitlines():
        match = _OPTION.match(line)
        if match:
            flag = Flag("--" + match[2], match[1], bool(match[3]))
            flags[flag.long] = flag
            if flag.short:
                flags[flag.short] = flag
    return flags


def flags_of(tasks: set[str]) -> dict[str, dict[str, Flag] | str]:
    """Each task's flags, or the error invoke gave (asked in parallel: a subprocess each)."""
    def ask(name: str) -> dict[str, Flag] | str:
        proc = invoke("--help", name)
        return parse_help(proc.stdout) if proc.returncode == 0 else (proc.stderr or proc.stdout).strip()
    with ThreadPoolExecutor(max_workers=8) as pool:
        return dict(zip(sorted(tasks), pool.map(ask, sorted(tasks))))


# -- invoke lines in shell scripts -------------------------------------------------------------------
@dataclass(frozen=True)
class Invocation:
    where: str
    line: str
    task: str | None
    args: tuple[str, ...]

    def values(self, flags: dict[str, Flag]) -> tuple[dict[str, str | bool], list[str]]:
        """The flags given ({--long: value or True}) and the problems (unknown flag, missing value,
        a stray argument)."""
        given: dict[str, str | bool] = {}
        problems: list[str] = []
        args = list(self.args)
        while args:
            arg = args.pop(0)
            name, eq, value = arg.partition("=")
            flag = flags.get(name) if name.startswith("-") else None
            if flag is None:
                problems.append(f"{arg!r} is not a flag of {self.task}" if arg.startswith("-")
                                else f"stray argument {arg!r}")
                continue
            if flag.takes_value and not eq:
                if not args or args[0].startswith("-"):
                    problems.append(f"{flag.long} needs a value")
                    continue
                value = args.pop(0)
            elif not flag.takes_value and eq:
                problems.append(f"{flag.long} takes no value")
            given[flag.long] = value if flag.takes_value else True
        return given, problems


_CONTROL = set(";&|<>()")


def invocations(script: str, where: str) -> list[Invocation]:
    found = []
    for line in script.replace("\\\n", " ").splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        lexer.commenters = "#"
        tokens = list(lexer)
        for i, token in enumerate(tokens):
            if token == "invoke" or token.endswith("/invoke"):
                words = []
                for word in tokens[i + 1:]:
                    if set(word) <= _CONTROL:
                        break
                    words.append(word)
                found.append(Invocation(where, line.strip(), words[0] if words else None, tuple(words[1:])))
    return found


# -- the two files ------------------------------------------------------------------------------------------
def load(path: Path) -> dict:
    assert path.is_file(), f"{path} is missing"
    doc = yaml.safe_load(path.read_text())
    assert isinstance(doc, dict), f"{path.name}: not a YAML mapping"
    return doc


def needs(job: dict) -> set[str]:
    value = job.get("needs") or []
    value = [value] if isinstance(value, (str, dict)) else value
    return {n["job"] if isinstance(n, dict) else n for n in value}


def github() -> dict:
    return load(GITHUB)


def github_scripts(doc: dict) -> dict[str, list[str]]:
    return {name: [step["run"] for step in job.get("steps", []) if "run" in step]
            for name, job in doc["jobs"].items()}


def gitlab() -> dict:
    return load(GITLAB)


def gitlab_jobs(doc: dict) -> dict[str, dict]:
    """The jobs with `extends` resolved (a shallow merge, the job's own keys last)."""
    def resolve(name: str) -> dict:
        job = doc[name]
        parents = job.get("extends", [])
        merged: dict = {}
        for parent in [parents] if isinstance(parents, str) else parents:
            merged.update(resolve(parent))
        merged.update({k: v for k, v in job.items() if k != "extends"})
        return merged
    return {name: resolve(name) for name in doc if name not in GITLAB_KEYWORDS and not name.startswith(".")}


def gitlab_scripts(doc: dict) -> dict[str, list[str]]:
    scripts = {}
    for name, job in gitlab_jobs(doc).items():
        lines = []
        for key in ("before_script", "script", "after_script"):
            value = job.get(key) or []
            lines += [value] if isinstance(value, str) else value
        scripts[name] = lines
    return scripts


def all_invocations() -> list[Invocation]:
    found = []
    for label, scripts in (("github", github_scripts(github())), ("gitlab", gitlab_scripts(gitlab()))):
        for job, texts in scripts.items():
            for text in texts:
                found += invocations(text, f"{label}:{job}")
    return found


def by_job(found: list[Invocation], label: str) -> dict[str, list[Invocation]]:
    jobs: dict[str, list[Invocation]] = {}
    for inv in found:
        if inv.where.startswith(label + ":"):
            jobs.setdefault(inv.where.split(":", 1)[1], []).append(inv)
    return jobs


# -- tests: invoke lines ------------------------------------------------------------------------------------
def test_the_parser_reads_invoke_lines():
    found = invocations('set -e\nsh retry.sh invoke deploy.phase3 --rollout 10 --json --env "$E" > x.json '
                        '# done\n.venv/bin/invoke status --json --env=staging && echo ok', "t")
    assert [(i.task, i.args) for i in found] == [
        ("deploy.phase3", ("--rollout", "10", "--json", "--env", "$E")),
        ("status", ("--json", "--env=staging"))]
    flags = parse_help("Options:\n  -a STRING, --artifact=STRING    x\n  -j, --json   y\n  --only=STRING  z\n")
    assert flags["--artifact"].takes_value and flags["-a"].long == "--artifact"
    assert not flags["--json"].takes_value and flags["--only"].short is None
    given, problems = Invocation("t", "", "x", ("-a", "b.tgz", "--json=1", "--nope", "loose")).values(flags)
    assert given == {"--artifact": "b.tgz", "--json": True}
    assert problems == ["--json takes no value", "'--nope' is not a flag of x", "stray argument 'loose'"]


def test_every_invoked_task_and_flag_exists():
    found = all_invocations()
    assert len(found) >= 2 * len(ORDER)
    names = task_names()
    flags = flags_of({i.task for i in found if i.task})
    problems = []
    for inv in found:
        if inv.task not in names:
            problems.append(f"{inv.where}: task {inv.task!r} does not exist (invoke --list): {inv.line}")
            continue
        known = flags[inv.task]
        if isinstance(known, str):
            problems.append(f"{inv.where}: invoke --help {inv.task}: {known}")
            continue
        given, bad = inv.values(known)
        problems += [f"{inv.where}: {p}: {inv.line}" for p in bad]
        for required in ("--json", "--env"):
            if required not in given:
                problems.append(f"{inv.where}: {inv.task} without {required}: {inv.line}")
    assert not problems, "\n".join(problems)


# -- tests: GitHub Actions -----------------------------------------------------------------------------------
def test_github_jobs_in_rollout_order_with_one_approval():
    doc = github()
    jobs = doc["jobs"]
    triggers = doc.get("on", doc.get(True))   # YAML 1.1 reads a bare `on` as true
    assert triggers["workflow_dispatch"]["inputs"]["environment"]["options"] == ["staging", "production"]
    for before, after in zip(["preflight", *ORDER], ORDER):
        assert before in needs(jobs[after]), f"{after} must need {before}"
    assert {"build", "preflight", "approve"} <= needs(jobs["phase1"])
    assert "approve" not in needs(jobs["preflight"]) and not needs(jobs["build"])
    approve = jobs["approve"]
    assert approve["environment"] == "production-approval" and "production" in approve["if"]
    assert "steps" in approve and not github_scripts(doc)["approve"][0].count("invoke")
    assert "!failure()" in jobs["phase1"]["if"]   # a skipped approval (staging) does not stop phase 1


def test_github_one_deploy_per_environment():
    concurrency = github()["concurrency"]
    assert "inputs.environment" in concurrency["group"] and concurrency["cancel-in-progress"] is False


def test_github_secrets_from_the_secret_store():
    doc = github()
    found = by_job(all_invocations(), "github")
    for name in found:
        job = doc["jobs"][name]
        assert "inputs.environment" in job["environment"], name     # environment secrets
        for secret in SECRETS:
            assert job["env"][secret] == f"${{{{ secrets.{secret} }}}}", (name, secret)
        for plain in PLAIN:
            assert job["env"][plain] == f"${{{{ vars.{plain} }}}}", (name, plain)
        keyed = [s for s in job["steps"] if s.get("env", {}).get(SSH_KEY) == f"${{{{ secrets.{SSH_KEY} }}}}"]
        assert keyed and "ssh-add" in keyed[0]["run"], name
    for line in GITHUB.read_text().splitlines():   # anywhere in the file: never a value
        match = re.match(r"^\s*(\w+):\s*(\S.*)$", line)
        if match and match[1] in (*SECRETS, SSH_KEY):
            assert match[2] == f"${{{{ secrets.{match[1]} }}}}", line
        if match and match[1] in PLAIN:
            assert match[2] == f"${{{{ vars.{match[1]} }}}}", line


def test_github_builds_once_and_phase2_ships_that_build():
    doc = github()
    build, phase2 = doc["jobs"]["build"], doc["jobs"]["phase2"]
    scripts = "\n".join(github_scripts(doc)["build"])
    assert "marketplace.build" in scripts or "npm run build" in scripts
    upload = [s for s in build["steps"] if str(s.get("uses", "")).startswith("actions/upload-artifact")]
    download = [s for s in phase2["steps"] if str(s.get("uses", "")).startswith("actions/download-artifact")]
    assert upload and download and upload[0]["with"]["name"] == download[0]["with"]["name"]
    assert upload[0]["with"]["path"] == ARTIFACT
    (deploy,) = by_job(all_invocations(), "github")["phase2"]
    assert deploy.task == "deploy.phase2" and ("--artifact", ARTIFACT) == deploy.args[:2]
    builds = [i for i in all_invocations() if "build" in " ".join(i.args)]
    assert not builds


def test_github_soak_and_rollout_steps_retry_while_not_yet():
    doc = github()
    found = by_job(all_invocations(), "github")
    for job, stage in STAGES.items():
        (inv,) = found[job]
        assert inv.task == "deploy.phase3" and inv.args[:2] == ("--rollout", str(stage)), job
        assert inv.line.startswith(f"sh {RETRY.relative_to(REPO)} invoke "), job
        spec = doc["jobs"][job]
        assert spec["timeout-minutes"] * 60 > int(spec["env"]["RETRY_FOR"]), job
    assert [i.task for i in found["phase4"]] == ["deploy.phase4"]


# -- tests: GitLab CI ------------------------------------------------------------------------------------------
def test_gitlab_stages_and_needs_in_rollout_order():
    doc = gitlab()
    jobs = gitlab_jobs(doc)
    stages = doc["stages"]
    order = [jobs[name]["stage"] for name in ["preflight", "approve", *ORDER]]
    assert order == sorted(order, key=stages.index), order
    for before, after in zip(["preflight", *ORDER], ORDER):
        assert before in needs(jobs[after]), f"{after} must need {before}"


def test_gitlab_manual_approval_before_production():
    jobs = gitlab_jobs(gitlab())
    approve = jobs["approve"]
    (rule,) = approve["rules"]
    assert rule["when"] == "manual" and '$DEPLOY_ENV == "production"' in rule["if"]
    assert approve.get("allow_failure") is False      # the pipeline waits, it does not walk past
    assert {"job": "approve", "optional": True} in jobs["phase1"]["needs"]


def test_gitlab_one_deploy_per_environment_and_secrets_from_variables():
    doc = gitlab()
    jobs = gitlab_jobs(doc)
    for name in by_job(all_invocations(), "gitlab"):
        job = jobs[name]
        assert "$DEPLOY_ENV" in job["resource_group"], name
        assert job["environment"]["name"] == "$DEPLOY_ENV", name   # environment-scoped variables
        assert any(SSH_KEY in line and "ssh-add" in line for line in job["before_script"]), name
    for name in ORDER + ["preflight"]:
        assert jobs[name]["resource_group"] == "deploy-$DEPLOY_ENV", name
    defined = set(doc.get("variables", {}))
    for job in jobs.values():
        defined |= set(job.get("variables", {}))
    assert not defined & {*SECRETS, *PLAIN, SSH_KEY}, "secrets belong in the CI/CD settings, not the file"


def test_gitlab_builds_once_and_phase2_ships_that_build():
    doc = gitlab()
    jobs = gitlab_jobs(doc)
    assert ARTIFACT in jobs["build"]["artifacts"]["paths"]
    assert any("marketplace.build" in line or "npm run build" in line for line in jobs["build"]["script"])
    assert {"job": "build", "artifacts": True} in jobs["phase2"]["needs"]
    (deploy,) = by_job(all_invocations(), "gitlab")["phase2"]
    assert deploy.task == "deploy.phase2" and ("--artifact", ARTIFACT) == deploy.args[:2]
    (preflight,) = by_job(all_invocations(), "gitlab")["preflight"]
    junit = preflight.args[preflight.args.index("--junit") + 1]
    assert jobs["preflight"]["artifacts"]["reports"]["junit"] == junit


def test_gitlab_soak_and_rollout_steps_retry_while_not_yet():
    jobs = gitlab_jobs(gitlab())
    found = by_job(all_invocations(), "gitlab")
    for job, stage in STAGES.items():
        (inv,) = found[job]
        assert inv.task == "deploy.phase3" and inv.args[:2] == ("--rollout", str(stage)), job
        assert inv.line.startswith(f"sh {RETRY.relative_to(REPO)} invoke "), job
        hours = int(jobs[job]["timeout"].removesuffix("h"))
        assert hours * 3600 > int(jobs[job]["variables"]["RETRY_FOR"]), job


# -- the retry script -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("codes, expect, tries", [
    ([4, 4, 0], 0, 3),        # not yet, not yet, done
    ([4, 1], 1, 2),           # a failure ends it at once
    ([2], 2, 1),
    ([4, 4, 4], 4, 1),        # still not yet when RETRY_FOR runs out: exit 4, not a failure code
])
def test_retry_script_retries_only_while_not_yet(tmp_path, codes, expect, tries):
    counter = tmp_path / "tries"
    fake = tmp_path / "task.sh"
    fake.write_text(f"n=$(( $(cat {counter} 2>/dev/null || echo 0) + 1 )); echo $n > {counter}\n"
                    f"set -- {' '.join(map(str, codes))}; shift $(( n - 1 )); exit ${{1:-4}}\n")
    # giving up: the next wait (1 s) would pass RETRY_FOR (0 s)
    env = {**os.environ, **({"RETRY_EVERY": "1", "RETRY_FOR": "0"} if expect == 4 else
                            {"RETRY_EVERY": "0", "RETRY_FOR": "60"})}
    proc = subprocess.run(["sh", str(RETRY), "sh", str(fake)], env=env, capture_output=True, text=True, timeout=30)
    assert proc.returncode == expect, proc.stderr
    assert int(counter.read_text()) == tries
    if expect == 4:
        assert "run this job again later" in proc.stderr
