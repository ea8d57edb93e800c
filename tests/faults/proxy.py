"""A TCP proxy in front of a server (the sandbox) that can make it look hung, the way a network or
an overloaded Stripe does: connections are still accepted, but no answer comes back.

Modes, applied to every chunk (so kept-alive connections follow a change too): `forward` (a plain
proxy), `blackhole` (requests are read and dropped: Stripe never sees them), `swallow` (requests
go through, answers are dropped: Stripe does the work and we never hear of it, the case that
idempotency keys exist for), `swallow_posts` (as `swallow` for the answers to POST requests only: the
reads before and after a change go through, so only the change's answer is lost).
"""

from __future__ import annotations

import contextlib
import socket
import threading

METHODS = (b"GET", b"POST", b"DELETE", b"HEAD", b"PUT", b"PATCH")


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
        last_request = [b""]  # the method of the request this connection answers now (no pipelining)
        answers = threading.Thread(target=self._pipe, args=(upstream, client, ("forward",), last_request), daemon=True)
        answers.start()
        self._pipe(client, upstream, ("forward", "swallow", "swallow_posts"), last_request)

    def _pipe(
        self, source: socket.socket, target: socket.socket, passes_in: tuple[str, ...], last_request: list[bytes]
    ) -> None:
        """Copy bytes from `source` to `target` while the mode is one of `passes_in` (else drop them),
        until either side closes. Requests note their method in `last_request`; in `swallow_posts` the
        answers to a POST are dropped."""
        requests = "swallow" in passes_in
        try:
            while not self._stop.is_set():
                data = source.recv(65536)
                if not data:
                    break
                method = data[:8].split(b" ", 1)[0]
                if requests and method in METHODS:  # a request line starts the chunk
                    last_request[0] = method
                if self.mode in passes_in or (
                    not requests and self.mode == "swallow_posts" and last_request[0] != b"POST"
                ):
                    target.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, target):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
