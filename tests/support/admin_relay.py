"""A relay in front of HAProxy's admin socket that acts at an exact moment of a deploy.

The deploy is pointed at the relay's endpoint instead of HAProxy's; every runtime command goes
through to HAProxy and its answer back. After relaying a command, `after(command)` runs (it may
kill HAProxy, interrupt the deploy ...); when it returns True the relay closes its port, so the
admin socket is gone from then on (HAProxy itself may go on serving)."""

from __future__ import annotations

import socket
import threading
from typing import Callable


class AdminRelay:
    def __init__(self, admin: str, after: Callable[[str], bool]):
        host, _, port = admin.rpartition(":")
        self.admin, self.after = (host, int(port)), after
        self.server = socket.create_server(("127.0.0.1", 0))
        self.endpoint = f"127.0.0.1:{self.server.getsockname()[1]}"
        self.commands: list[str] = []
        self.closed = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while not self.closed.is_set():
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            with client:
                command = b""
                while not command.endswith(b"\n"):
                    data = client.recv(4096)
                    if not data:
                        break
                    command += data
                with socket.create_connection(self.admin, timeout=5) as upstream:
                    upstream.sendall(command)
                    while data := upstream.recv(65536):
                        client.sendall(data)
            text = command.decode().strip()
            self.commands.append(text)
            if self.after(text):
                self.server.close()
                self.closed.set()
