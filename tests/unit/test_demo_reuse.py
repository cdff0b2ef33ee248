"""A demo re-run leaves out the apps' commands only when nothing they depend on has changed."""

from pathlib import Path

from deploy.demo.reuse import commands_digest, may_skip, remember

COMMANDS = [("api: test", "python3 -m unittest discover -s tests -t ."), ("api: build", "python3 -m b --out {out}")]


def app(tmp_path: Path) -> Path:
    source = tmp_path / "app"
    (source / "pkg" / "__pycache__").mkdir(parents=True)
    (source / "pkg" / "mod.py").write_text("x = 1\n")
    (source / "tests").mkdir()
    (source / "tests" / "test_mod.py").write_text("assert True\n")
    return source


def test_the_same_input_gives_the_same_digest_and_caches_do_not_count(tmp_path):
    source = app(tmp_path)
    first = commands_digest(COMMANDS, [source])
    (source / "pkg" / "__pycache__" / "mod.cpython-311.pyc").write_bytes(b"\0compiled")
    assert commands_digest(list(reversed(COMMANDS)), [source, source]) == first


def test_any_change_to_a_file_a_command_line_or_the_folder_changes_it(tmp_path):
    source = app(tmp_path)
    first = commands_digest(COMMANDS, [source])
    changed = []
    (source / "tests" / "test_mod.py").write_text("assert False\n")          # a test edited
    changed.append(commands_digest(COMMANDS, [source]))
    (source / "tests" / "test_new.py").write_text("")                         # a test added
    changed.append(commands_digest(COMMANDS, [source]))
    (source / "tests" / "test_new.py").rename(source / "tests" / "test_other.py")   # renamed
    changed.append(commands_digest(COMMANDS, [source]))
    changed.append(commands_digest([*COMMANDS[:1], ("api: build", "python3 -m b --out {out} -v")], [source]))
    changed.append(commands_digest(COMMANDS[:1], [source]))                   # one command fewer
    changed.append(commands_digest(COMMANDS, [source / "pkg"]))               # another folder
    assert len({first, *changed}) == len(changed) + 1


def test_skip_only_on_the_recorded_digest(tmp_path):
    record = tmp_path / "work" / "demo-commands-passed"
    assert not may_skip(record, "abc")                    # never passed here
    remember(record, "abc")
    assert may_skip(record, "abc") and not may_skip(record, "abd")
