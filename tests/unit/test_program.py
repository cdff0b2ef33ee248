"""The console script's pure parts: invoke's parse errors -> one line, the --json envelope."""

from __future__ import annotations

import pytest

from deploy import __version__
from deploy.cli.program import (NAME, DeployProgram, describe_parse_error, environment_given, envelope,
                            json_requested, program)


@pytest.mark.parametrize("message, task, expected, about", [
    ("No idea what '--usr' is!", "deploy.phase2",
     "deploy.phase2: unknown flag '--usr' (`marketplace-deploy --help deploy.phase2` lists its flags)",
     "deploy.phase2"),
    ("No idea what 'deploy.phase5' is!", None,
     "unknown task 'deploy.phase5' (`marketplace-deploy --list` shows the tasks)", "deploy.phase5"),
    ("No idea what 'extra' is!", "status",
     "status: unexpected argument 'extra', and no task has that name (`marketplace-deploy --list` shows the tasks)",
     "status"),
    ("No idea what '-q' is!", None, "unknown option '-q' (`marketplace-deploy --help` lists the options)", None),
    ("Flag <Argument: lock_wait> needed value and was not given one!", "deploy.phase1",
     "deploy.phase1: --lock-wait needs a value", "deploy.phase1"),
    ("Flag <Argument: env (e)> needed value and was not given one!", None, "--env needs a value", None),
    ("Flag <Argument: json (j)> doesn't take any value!", "status", "status: --json takes no value", "status"),
    ("Sub-collection 'dbx' not found!", None, "unknown namespace 'dbx' (`marketplace-deploy --list` shows them)",
     None),
    ("something else", "status", "something else", "status"),
])
def test_parse_errors_become_one_line(message, task, expected, about):
    assert describe_parse_error(message, task) == (expected, about)


def test_json_and_environment_found_anywhere_on_the_line():
    assert json_requested(["status", "--env", "x", "--json"])
    assert json_requested(["-j", "status"]) and json_requested(["status", "--json=1"])
    assert not json_requested(["status", "--junit", "x.xml"])
    assert environment_given(["status", "--env", "staging"]) == "staging"
    assert environment_given(["status", "--env=prod"]) == "prod"
    assert environment_given(["status", "-e", "t", "--json"]) == "t"


def test_environment_falls_back_to_deploy_env(monkeypatch):
    monkeypatch.setenv("DEPLOY_ENV", "staging")
    assert environment_given(["status", "--env"]) == "staging"
    monkeypatch.delenv("DEPLOY_ENV")
    assert environment_given(["status"]) is None


def test_envelope_is_the_task_contract():
    assert envelope("status", "t", "bad") == {"task": "status", "environment": "t", "ok": False,
                                              "exit_code": 2, "error": "bad"}


def test_program_is_the_project_collection_and_version():
    prog = program()
    assert isinstance(prog, DeployProgram) and prog.name == NAME and prog.version == __version__
    assert "deploy" in prog.namespace.collections and "status" in prog.namespace.tasks


def test_root_is_the_flag_else_what_config_finds_else_the_current_folder(tmp_path):
    from deploy.cli.program import choose_root

    project = tmp_path / "p"
    (project / "environments").mkdir(parents=True)
    (project / "sub").mkdir()
    assert choose_root(str(project / "sub" / ".."), tmp_path, {}) == str(project)
    assert choose_root(None, project / "sub", {}) is None          # deploy.config.environment finds p/ upward
    assert choose_root(None, tmp_path, {"DEPLOY_ROOT": "/x"}) is None
    assert choose_root(None, tmp_path, {}) == str(tmp_path)


def test_a_projects_own_files_win_over_the_shipped_ones(tmp_path):
    from deploy.config.shipped import CHECKOUT, project_path, shipped

    assert shipped("checks/smoke.yaml") == CHECKOUT / "checks" / "smoke.yaml"    # a checkout
    assert project_path(tmp_path, "checks/smoke.yaml") == shipped("checks/smoke.yaml")
    (tmp_path / "checks").mkdir()
    (tmp_path / "checks" / "smoke.yaml").write_text("{}\n")
    assert project_path(tmp_path, "checks/smoke.yaml") == tmp_path / "checks" / "smoke.yaml"
    assert project_path(tmp_path, "checks/nothing.yaml") == tmp_path / "checks" / "nothing.yaml"
    assert project_path(tmp_path, "sql") == shipped("sql")


def test_a_trailing_repeatable_flag_without_value_is_bad_input(capsys):
    prog = program()
    with pytest.raises(SystemExit) as exit_:
        prog.run(["marketplace-deploy", "status", "--role", "api", "--host"])
    assert exit_.value.code == 2
    assert capsys.readouterr().err.strip() == "error: status: --host needs a value"
