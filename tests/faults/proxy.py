"""A TCP proxy in front of a server (the sandbox) that can make it look hung, the way a network or
an overloaded Stripe does: connections are still accepted, but no answer comes back.

Modes, applied to every chunk (so kept-alive connections follow a change too): `forward` (a plain
proxy), `blackhole` (requests are read and dropped: Stripe never sees them), `swallow` (requests
go through, answers are dropped: Stripe does the work and we never hear of it, the case that
idempotency keys exist for).
"""

from __future__ import annotations

import contextlib
import socket
import threading


class HangingProxy:
    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.mode = "forward"
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self._stop = threading.Event()
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()

    def start(self) -> HangingProxy:
        threading.Thread(target=self._accept, name="hanging-proxy", daemon=True).start()
        return self

    def stop(self) -> None:
        self._stop.set()
        with contextlib.suppress(OSError):
            self._listener.close()
        self.cut()

    def cut(self) -> None:
        """Close every open connection (a killed server's kept-alive ones die with it)."""
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                sock.close()

    def _track(self, sock: socket.socket) -> socket.socket:
        with self._lock:
            self._sockets.append(sock)
        return sock

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(self._track(client),), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        try:
            upstream = self._track(socket.create_connection(("127.0.0.1", self.upstream_port), timeout=10))
        except OSError:  # the server is down: the client sees its connection closed
            client.close()
            return
        upstream.settimeout(None)
        threading.Thread(target=self._pipe, args=(upstream, client, ("forward",)), daemon=True).start()
        self._pipe(client, upstream, ("forward", "swallow"))

    def _pipe(self, source: socket.socket, target: socket.socket, passes_in: tuple[str, ...]) -> None:
        """Copy bytes from `source` to `target` while the mode is one of `passes_in` (else drop them),
        until either side closes."""
        try:
            while not self._stop.is_set():
                data = source.recv(65536)
                if not data:
                    break
                if self.mode in passes_in:
                    target.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, target):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
