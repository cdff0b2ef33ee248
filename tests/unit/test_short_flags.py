"""Short flags are chosen on purpose: the same letter means the same flag in every task, and only
the documented ones exist (-e/--env, -j/--json). Walks every task of the real collection."""

from __future__ import annotations

from invoke import Collection, task

from deploy.cli.task import SHORT_FLAGS, ContractTask
from deploy.cli.collection import namespace


def short_flags(collection: Collection) -> dict[str, dict[str, str]]:
    """{short letter: {task: long flag}} over every task of the collection."""
    found: dict[str, dict[str, str]] = {}
    for context in collection.to_contexts():
        for arg in context.flags.values():
            longs = [n for n in arg.names if len(n) > 1]
            for short in (n for n in arg.names if len(n) == 1):
                found.setdefault(short, {})[context.name] = longs[0]
    return found


def clashes(collection: Collection) -> list[str]:
    problems = []
    for short, by_task in sorted(short_flags(collection).items()):
        meanings = sorted(set(by_task.values()))
        if len(meanings) > 1:
            problems.append(f"-{short} means " + ", ".join(
                f"--{m} ({', '.join(sorted(t for t, v in by_task.items() if v == m))})" for m in meanings))
    return problems


def test_no_short_flag_means_two_things_across_tasks():
    assert clashes(namespace) == []


def test_only_the_documented_short_flags_exist():
    found = short_flags(namespace)
    assert {s: set(by_task.values()) for s, by_task in found.items()} == {
        short: {long} for long, short in SHORT_FLAGS.items()}
    contexts = namespace.to_contexts()
    assert len(contexts) >= 28

    def having(flag: str) -> set[str]:
        return {c.name for c in contexts if f"--{flag}" in c.flags}
    assert set(found["e"]) == having("env") and set(found["j"]) == having("json")
    assert len(having("json")) >= len(contexts) - 2          # all but demo and init


def test_the_walk_finds_invokes_automatic_clashes():
    # invoke's default: the first free letter of each flag, per task
    @task
    def one(c, artifact=None):
        pass

    @task
    def two(c, author=None, force=False):
        pass

    @task
    def three(c, follow=False):
        pass
    assert clashes(Collection(one, two, three)) == ["-a means --artifact (one), --author (two)",
                                                   "-f means --follow (three), --force (two)"]

    @task(klass=ContractTask)
    def four(c, env=None, artifact=None, json=False):
        pass
    assert short_flags(Collection(one, four)) == {"a": {"one": "artifact"}, "e": {"four": "env"},
                                                 "j": {"four": "json"}}
