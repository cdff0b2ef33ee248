"""Progress for the long waits, on a terminal only: one live status line per wait that has lasted
longer than a second (the lock wait, a build, a backup, the observe window, a drain), with the
time elapsed and, when the wait has a deadline or a length, the time left.

    with progress.wait("observing the metrics gate", total=600):
        ...

The task wrapper turns it on (`showing`) for human output on a terminal; with --json, in a pipe or
a CI log, or with TERM=dumb, `wait` does nothing and nothing extra is printed. The status is
transient: it is erased when the wait ends, leaving only the task's own lines.
Waits from several threads (a batch of hosts) each show their innermost wait.
"""

from __future__ import annotations

import os
import threading
import time
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Iterator

from deploy.secrets import mask

if TYPE_CHECKING:     # rich's live parts are imported only when a status is drawn (start-up time)
    from rich.console import Console

DELAY = 1.0               # a wait shows once it has lasted this long
_board: "Board | None" = None


def clock_text(seconds: float) -> str:
    """0:07, 12:30, 1:02:03."""
    whole = max(0, int(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def status_text(label: str, elapsed: float, total: float | None) -> str:
    """The words of one status line: what is awaited, time elapsed, time left when known."""
    text = f"{mask(label)}  {clock_text(elapsed)} elapsed"
    if total is not None:
        text += f", {clock_text(max(0.0, total - elapsed) + 0.999)} left"   # rounds up: 0:00 only at the end
    return text


class Wait:
    """One wait; shown by the board once it has lasted DELAY seconds. Also a context manager."""

    def __init__(self, board: "Board | None", label: str, total: float | None = None):
        self.board, self.label, self.total = board, label, total
        self.started: float | None = None
        self.thread = threading.get_ident()
        self.spinner: Any = None

    @property
    def elapsed(self) -> float:
        return 0.0 if self.started is None else time.monotonic() - self.started

    def begin(self, label: str | None = None) -> "Wait":
        """Start the clock now (a lock wait starts when the lock turns out to be held)."""
        if label:
            self.label = label
        if self.board is not None and self.started is None:
            self.started = time.monotonic()
            self.board.add(self)
        return self

    def end(self) -> None:
        if self.board is not None and self.started is not None:
            self.board.remove(self)
            self.started = None

    def __enter__(self) -> "Wait":
        return self.begin()

    def __exit__(self, *exc: object) -> None:
        self.end()


class Board:
    """The waits in progress on one console, shown in one rich Live while any is due."""

    def __init__(self, console: Console):
        self.console = console
        self.waits: list[Wait] = []
        self._lock = threading.Lock()
        self._live: Any = None
        self._closed = False

    def add(self, wait: Wait) -> None:
        with self._lock:
            self.waits.append(wait)
        timer = threading.Timer(DELAY, self._due)
        timer.daemon = True
        timer.start()

    def _due(self) -> None:
        with self._lock:
            if self._closed or self._live is not None or not self.visible():
                return
            from rich.live import Live

            live = Live(self, console=self.console, transient=True, refresh_per_second=4)
            try:
                live.start()
            except Exception:   # another live display on this console: no progress, no failure
                return
            self._live = live

    def remove(self, wait: Wait) -> None:
        live = None
        with self._lock:
            if wait in self.waits:
                self.waits.remove(wait)
            if self._live is not None and not self.waits:
                live, self._live = self._live, None
        if live is not None:
            live.stop()

    @property
    def live(self) -> bool:
        return self._live is not None

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self.waits.clear()
            live, self._live = self._live, None
        if live is not None:
            live.stop()

    def visible(self) -> list[Wait]:
        """Each thread's innermost wait that has lasted DELAY, in the order they began."""
        last: dict[int, Wait] = {}
        for wait in list(self.waits):
            if wait.elapsed >= DELAY:
                last[wait.thread] = wait
        return sorted(last.values(), key=lambda w: w.started or 0.0)

    def __rich__(self) -> Any:
        from rich.console import Group
        from rich.spinner import Spinner
        from rich.table import Table
        from rich.text import Text

        rows = []
        for wait in self.visible():     # no lock here: the refresh thread must never wait on remove()
            grid = Table.grid(padding=(0, 1))
            if wait.spinner is None:
                wait.spinner = Spinner("dots", style="cyan")
            grid.add_row(wait.spinner, Text(status_text(wait.label, wait.elapsed, wait.total)))
            rows.append(grid)
        return Group(*rows)


def enabled(console: Console) -> bool:
    """A terminal a person watches: a tty, not TERM=dumb, not turned off by DEPLOY_PROGRESS=0."""
    if os.environ.get("TERM") == "dumb" or os.environ.get("DEPLOY_PROGRESS", "").lower() in ("0", "no", "false"):
        return False
    isatty = getattr(console.file, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:      # a closed file
        return False


@contextmanager
def showing(console: Console, json_mode: bool) -> Iterator[None]:
    """For the task wrapper: waits inside the block show on `console` when a person watches it."""
    global _board
    if json_mode or not enabled(console):
        yield
        return
    board, previous = Board(console), _board
    _board = board
    try:
        yield
    finally:
        _board = previous
        board.close()


def wait(label: str, total: float | None = None) -> Wait:
    """A wait to show: a context manager, or `begin()` / `end()` when its start is found later (a
    lock wait starts when the lock turns out to be held). Does nothing unless progress is showing."""
    return Wait(_board, label, total)


def live_on(console: Console) -> bool:
    """Whether a status is on screen on this console right now (other streams then write through it)."""
    return _board is not None and _board.console is console and _board.live


def same_terminal(a: int = 1, b: int = 2) -> bool:
    """Whether two descriptors are the same terminal (stderr shown where the status is drawn)."""
    try:
        return os.path.samestat(os.fstat(a), os.fstat(b))
    except OSError:
        return False
