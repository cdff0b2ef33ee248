"""The progress module's pure parts: the words of a status line, which waits show, and that it
stays off for --json and for anything that is not a terminal (CI logs, pipes)."""

import io
import threading

from rich.console import Console

from deploy.output import progress


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_clock_and_status_text():
    assert progress.clock_text(7.9) == "0:07"
    assert progress.clock_text(750) == "12:30"
    assert progress.clock_text(3723) == "1:02:03"
    assert progress.status_text("waiting for the deploy lock", 12.2, 300) == \
        "waiting for the deploy lock  0:12 elapsed, 4:48 left"
    assert progress.status_text("db.backup", 65, None) == "db.backup  1:05 elapsed"
    assert progress.status_text("x", 400, 300).endswith("0:00 left")          # past its deadline
    assert progress.status_text("x", 299.5, 300).endswith("0:01 left")        # rounds up


def test_off_for_json_and_for_what_is_not_a_terminal(monkeypatch):
    monkeypatch.delenv("TERM", raising=False)
    monkeypatch.delenv("DEPLOY_PROGRESS", raising=False)
    assert progress.enabled(Console(file=Tty()))
    assert not progress.enabled(Console(file=io.StringIO()))      # a pipe or a CI log
    with progress.showing(Console(file=Tty()), json_mode=True):
        assert progress.wait("x").board is None
    with progress.showing(Console(file=io.StringIO()), json_mode=False):
        assert progress.wait("x").board is None
    monkeypatch.setenv("TERM", "dumb")
    assert not progress.enabled(Console(file=Tty()))
    monkeypatch.setenv("TERM", "xterm")
    monkeypatch.setenv("DEPLOY_PROGRESS", "0")
    assert not progress.enabled(Console(file=Tty()))
    assert progress.wait("outside any task").board is None


def test_each_thread_shows_its_innermost_wait(monkeypatch):
    monkeypatch.setattr(progress, "DELAY", 0.0)
    board = progress.Board(Console(file=Tty()))
    outer = progress.Wait(board, "deploy.phase3: observe").begin()
    inner = progress.Wait(board, "observing the metrics gate (probe)", total=60).begin()
    other: list = []
    worker = threading.Thread(target=lambda: other.append(progress.Wait(board, "drain api-2").begin()))
    worker.start()
    worker.join()
    assert [w.label for w in board.visible()] == ["observing the metrics gate (probe)", "drain api-2"]
    inner.end()
    assert [w.label for w in board.visible()] == ["deploy.phase3: observe", "drain api-2"]
    outer.end()
    other[0].end()
    assert board.visible() == [] and not board.live
    board.close()


def test_a_wait_shows_only_after_a_second():
    board = progress.Board(Console(file=Tty()))
    wait = progress.Wait(board, "quick").begin()
    assert board.visible() == []           # it has not lasted DELAY yet
    wait.end()
    board.close()


def test_what_a_journaled_step_shows():
    from types import SimpleNamespace

    from deploy.executor import Executor

    ex = Executor(run=SimpleNamespace(task="deploy.phase2"), phase="phase2", db=None)
    assert ex.step_label("build") == "deploy.phase2: build"
    assert ex.step_label("upload", host="api-1") == "deploy.phase2: upload on api-1"
    assert Executor(run=SimpleNamespace(task="db.backup"), phase="backup", db=None).step_label("backup") == "db.backup"


def test_an_engine_step_on_a_host_shows_while_it_runs(monkeypatch):
    """The drain, restart and health gate of a host's turn go through the engine's Journal.step."""
    from types import SimpleNamespace

    from deploy.engine.context import Journal
    from deploy.executor import Executor

    monkeypatch.setattr(progress, "DELAY", 0.0)
    ex = Executor(run=SimpleNamespace(task="deploy.phase2"), phase="phase2", db=None)
    monkeypatch.setattr(ex, "event", lambda *a, **k: None)
    with progress.showing(Console(file=Tty()), json_mode=False):
        with Journal(ex).step("drain", host="api-2"):
            assert [w.label for w in progress._board.visible()] == ["deploy.phase2: drain on api-2"]
        assert progress._board.visible() == []
