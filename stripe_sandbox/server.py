"""HTTP front door: routing, API-key auth, ``Stripe-Account`` scoping, idempotency, expansion and errors."""

from __future__ import annotations

import email.parser
import email.policy
import hashlib
import ipaddress
import json
import re
import socket
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlencode, urlsplit

from . import control_page
from .core import Core, Ctx, Route
from .errors import StripeError
from .hosted import error_page, wants_html
from .params import decode_form
from .store import PLATFORM, new_id, render

_KEY = re.compile(r"^sk_test_[A-Za-z0-9_]+$")


class Router:
    def __init__(self, routes: list[Route]) -> None:
        self.routes = [(m, re.compile(f"^{p}$"), h) for m, p, h in routes]

    def match(self, method: str, path: str) -> tuple[Any, tuple[str, ...]] | None:
        for m, pattern, handler in self.routes:
            if m == method:
                found = pattern.match(path)
                if found:
                    return handler, found.groups()
        return None


def _redact(key: str) -> str:
    return key[:8] + "*" * max(0, len(key) - 12) + key[-4:] if len(key) > 12 else key


def expand(core: Core, obj: Any, paths: list[str]) -> Any:
    """Replace ids by objects along each ``expand[]`` path (``data.`` prefixes work on lists)."""
    for path in paths:
        _expand_one(core, obj, path.split("."))
    return obj


def _expand_one(core: Core, node: Any, parts: list[str]) -> None:
    if not parts or not isinstance(node, dict):
        return
    head, rest = parts[0], parts[1:]
    if head == "data" and node.get("object") == "list":
        for item in node["data"]:
            _expand_one(core, item, rest)
        return
    value = node.get(head)
    if isinstance(value, str) and value in core.store.objects:
        value = render(core.store.objects[value])
        node[head] = value
    if isinstance(value, list):
        for item in value:
            _expand_one(core, item, rest)
    else:
        _expand_one(core, value, rest)


def _named_as_a_machine(host: str | None) -> bool:
    """Is `host` (the Host header) a name the sandbox's own machine or network gives it: an address,
    localhost, or a name of one label (a compose service's, a machine's)?

    A site the tester visits can point its own name at 127.0.0.1 once its page is loaded (DNS
    rebinding): the page's requests then reach the sandbox as same-origin ones, Host and Origin both
    that name, free to read every object, post any control form and call the API with any test key.
    Such a name is a public one, with dots. Scripts of HTTP/1.0 that send no Host are answered."""
    if host is None:
        return True
    try:
        name = urlsplit(f"//{host}").hostname or ""
    except ValueError:  # "[x": no name at all
        return False
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return name == "localhost" or name.endswith(".localhost") or "." not in name
    return True


def _refuse_other_origins(req: BaseHTTPRequestHandler) -> None:
    """A form of the control page or a hosted page acts only when posted from the sandbox's own pages.

    The control API takes no key, so that a tester's plain HTML form works; a page of another origin
    (the demo app's, on another port of the same host, or any site visited while the demo runs) could
    otherwise post to it: empty the sandbox, send its events elsewhere, lose a seller's disputes. A
    browser names the page a form comes from in `Origin` ("null" for an opaque one); a script names none."""
    origin = req.headers.get("Origin")
    if origin is None:
        return
    try:
        if urlsplit(origin).netloc == (req.headers.get("Host") or ""):
            return
    except ValueError:  # "http://[x": from no page of ours
        pass
    raise StripeError(403, f"This form is taken only from the sandbox's own pages; it came from {origin}.")


def make_handler(core: Core, api: Router, web: Router) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "stripe-sandbox"

        def log_message(self, format: str, *args: Any) -> None:  # quiet; tests run many requests
            pass

        def setup(self) -> None:
            super().setup()
            # Headers and body go out in separate writes; without this, Nagle + delayed ACK add ~40 ms per call.
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def do_GET(self) -> None:
            self._dispatch("GET")

        def do_POST(self) -> None:
            self._dispatch("POST")

        def do_DELETE(self) -> None:
            self._dispatch("DELETE")

        # -------------------------------------------------------------------------------------------------
        def _send(self, status: int, body: bytes, ctype: str, headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            if ctype.startswith("text/html"):  # no page of another origin may frame ours and click for the tester
                self.send_header("X-Frame-Options", "DENY")
                self.send_header("Content-Security-Policy", "frame-ancestors 'none'")
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _json(self, status: int, obj: Any, headers: dict[str, str]) -> None:
            self._send(status, json.dumps(obj, indent=2).encode(), "application/json", headers)

        def _dispatch(self, method: str) -> None:
            split = urlsplit(self.path)
            path = split.path.rstrip("/") or "/"
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            if not _named_as_a_machine(self.headers.get("Host")):
                refused = StripeError(403, f"This sandbox answers to its machine's names, not {self.headers['Host']}.")
                if path.startswith("/v1/"):
                    self._json(403, refused.body(), {})
                else:
                    status, ctype, out, headers = self._web_error(path, refused)
                    self._send(status, out, ctype, headers)
                return
            found = web.match(method, path)
            if not found and path.startswith("/v1/"):
                self._api(method, path, split.query, body)
                return
            if not found:
                self._send(404, b"Not found", "text/plain; charset=utf-8")
                return
            handler, groups = found
            try:
                if method != "GET":
                    _refuse_other_origins(self)
                status, ctype, out, headers = handler(core, self, split.query, body, *groups)
            except StripeError as exc:
                status, ctype, out, headers = self._web_error(path, exc)
            except Exception:  # noqa: BLE001 - a sandbox bug: say so in the caller's language, traceback to stderr
                traceback.print_exc()
                status, ctype, out, headers = self._web_error(path, StripeError(500, "An unknown error occurred"))
            self._send(status, out, ctype, headers)

        def _web_error(self, path: str, exc: StripeError) -> tuple[int, str, bytes, dict[str, str]]:
            """A person (hosted pages, the control page's forms) reads a page; scripts read Stripe's JSON."""
            if path.startswith("/hosted/") or wants_html(self):
                return error_page(exc, control_page.BACK if path.startswith("/_sandbox") else "")
            return exc.status, "application/json", json.dumps(exc.body(), indent=2).encode(), {}

        def _api(self, method: str, path: str, query: str, body: bytes) -> None:
            request_id = new_id("req_", 14)
            headers = {"Request-Id": request_id, "Stripe-Version": core.hooks.config.api_version}
            try:
                status, result, extra = self._api_inner(method, path, query, body, request_id)
                headers.update(extra)
            except StripeError as exc:
                status, result = exc.status, exc.body(f"https://dashboard.stripe.com/test/logs/{request_id}")
            except Exception:  # noqa: BLE001 - a bug in the sandbox: Stripe's api_error shape, traceback to stderr
                traceback.print_exc()
                status, result = 500, StripeError(500, "An unknown error occurred", type="api_error").body()
            self._json(status, result, headers)

        def _api_inner(
            self, method: str, path: str, query: str, body: bytes, request_id: str
        ) -> tuple[int, Any, dict[str, str]]:
            auth = self.headers.get("Authorization") or ""
            key = auth[7:].strip() if auth.startswith("Bearer ") else ""
            if not key:
                raise StripeError(
                    401,
                    "You did not provide an API key. You need to provide your API key in the Authorization header, "
                    "using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api"
                    "#authentication for details, or we can help at https://support.stripe.com/.",
                    type="invalid_request_error",
                )
            if not _KEY.match(key):
                raise StripeError(
                    401,
                    f"Invalid API Key provided: {_redact(key)}",
                    type="invalid_request_error",
                    code="api_key_invalid",
                )
            owner = self.headers.get("Stripe-Account") or PLATFORM
            if owner:
                acct = core.store.objects.get(owner)
                if acct is None or acct.get("object") != "account" or acct.get("_deleted"):
                    raise StripeError(
                        403,
                        f"The provided key '{_redact(key)}' does not have access to account '{owner}' (or that "
                        "account does not exist). Application access may have been revoked.",
                        code="account_invalid",
                    )
            files: dict[str, tuple[str, bytes]] | None = None
            ctype = self.headers.get("Content-Type") or ""
            if ctype.startswith("multipart/form-data"):
                raw, files = _multipart(ctype, body)
            else:
                raw = decode_form(query if method in ("GET", "DELETE") and not body else body.decode())
                if method in ("GET", "DELETE") and query and body:
                    raw.update(decode_form(query))
            found = api.match(method, path)
            if not found:
                raise StripeError(
                    404,
                    f"Unrecognized request URL ({method}: {path}). Please see https://stripe.com/docs or we can "
                    "help at https://support.stripe.com/.",
                )
            handler, groups = found
            idem = self.headers.get("Idempotency-Key") if method == "POST" else None
            store = core.store
            fingerprint = hashlib.sha256(
                json.dumps([method, path, raw, sorted(files or {})], sort_keys=True).encode()
            ).hexdigest()
            with store.lock:
                if idem:
                    cache_key = f"{owner}|{idem}"
                    seen = store.idempotency.get(cache_key)
                    if seen is not None:
                        if seen["fingerprint"] != fingerprint:
                            raise StripeError(
                                400,
                                "Keys for idempotent requests can only be used with the same parameters they were "
                                f"first used with. Try using a key other than '{idem}' if you meant to execute a "
                                "different request.",
                                type="idempotency_error",
                            )
                        return (
                            seen["status"],
                            seen["body"],
                            {
                                "Idempotent-Replayed": "true",
                                "Original-Request": seen["request_id"],
                                "Idempotency-Key": idem,
                            },
                        )
                core.hooks.request.id = request_id
                core.hooks.request.idempotency_key = idem
                ctx = Ctx(core=core, owner=owner, api_key=key, raw=raw, path=path, files=files)
                try:
                    result = handler(ctx, *groups)
                    status = 200
                    expand_paths = raw.get("expand")
                    result = render(result)  # a fresh copy: expansion below and replays never touch the store
                    if isinstance(expand_paths, dict):
                        expand(core, result, list(expand_paths.values()))
                except StripeError as exc:
                    if not idem or exc.status != 402:  # Stripe saves executed requests only, not validation errors
                        raise
                    status, result = exc.status, exc.body()
                finally:
                    core.hooks.request.id = None
                    core.hooks.request.idempotency_key = None
                extra: dict[str, str] = {}
                if idem:
                    store.idempotency[f"{owner}|{idem}"] = {
                        "fingerprint": fingerprint,
                        "status": status,
                        "body": result,
                        "request_id": request_id,
                    }
                    extra["Idempotency-Key"] = idem
                if method != "GET":
                    store.save()
            return status, result, extra

    return Handler


def _multipart(ctype: str, body: bytes) -> tuple[dict[str, Any], dict[str, tuple[str, bytes]]]:
    """Minimal multipart/form-data parsing for ``POST /v1/files`` (the SDK's only multipart call)."""
    msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {ctype}\r\n\r\n".encode() + body
    )
    fields: dict[str, Any] = {}
    files: dict[str, tuple[str, bytes]] = {}
    for part in msg.iter_parts():
        name = part.get_param("name", header="content-disposition")
        filename = part.get_filename()
        raw_payload = part.get_payload(decode=True)
        payload = raw_payload if isinstance(raw_payload, bytes) else b""
        if filename is not None:
            files[str(name)] = (filename, payload)
        else:
            fields[str(name)] = payload.decode()
    raw = decode_form(urlencode(list(fields.items()))) if fields else {}
    return raw, files


class SandboxHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128
