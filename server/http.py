"""Streamable HTTP transport and what guards it: allowed Host names (DNS rebinding), same-origin
writes and a CSRF token for the rating page, the bearer token (required off loopback), and one
request-body limit derived from the tools' own audio limit."""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import logging
import secrets
from typing import Sequence
from urllib.parse import parse_qsl, urlencode, urlsplit

from mcp.server.mcpserver import MCPServer
from mcp.server.transport_security import TransportSecuritySettings
from starlette.datastructures import Headers
from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lstmabar.library.audio_input import base64_chars

log = logging.getLogger("lstmabar")

PUBLIC_PATHS = ("/healthz",)
MCP_PATH = "/mcp"
PAGE_PATH = "/rate"
TOKEN_COOKIE = "lstmabar_token"
CSRF_COOKIE = "lstmabar_csrf"
CSRF_HEADER = "x-csrf-token"
MIN_TOKEN_CHARS = 16
MAKE_TOKEN = 'python -c "import secrets; print(secrets.token_urlsafe(32))"'
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Room for the JSON-RPC envelope and the other arguments next to the largest base64 audio.
ENVELOPE_BYTES = 2**20
_CSRF_SECRET = secrets.token_bytes(32)  # per process: a restart asks the browser to reload the page


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_token(host: str, token: str | None) -> None:
    """Off loopback, refuse to start without a token that is long and has no whitespace."""
    if is_loopback(host):
        return
    how = f"Make one with {MAKE_TOKEN} and pass it as LSTMABAR_TOKEN or --token."
    if not token:
        raise SystemExit(f"Refusing to serve on {host} without a token: anyone who can reach the port could use the server. {how}")
    if len(token) < MIN_TOKEN_CHARS or any(c.isspace() for c in token):
        raise SystemExit(
            f"Refusing to serve on {host} with a weak token ({len(token)} characters): it needs at least "
            f"{MIN_TOKEN_CHARS} characters and no whitespace. {how}"
        )


def request_body_limit(max_upload_bytes: int) -> int:
    """The largest HTTP request body: the tools' base64 audio limit plus the JSON-RPC envelope."""
    return base64_chars(max_upload_bytes) + ENVELOPE_BYTES


def allowed_hosts(bind_host: str, port: int | None, configured: Sequence[str] = ()) -> tuple[str, ...] | None:
    """Host header patterns to accept (``name``, ``name:port`` or ``name:*``; a bare name takes any
    port), or None for no check: off loopback with nothing configured the token is the protection."""
    if not is_loopback(bind_host) and not configured:
        return None
    names = list(LOOPBACK_NAMES)
    bound = f"[{bind_host}]" if ":" in bind_host and not bind_host.startswith("[") else bind_host
    if is_loopback(bind_host) and bound not in names:
        names.append(bound)
    local = [f"{n}:{port}" if port else f"{n}:*" for n in names]
    return tuple(dict.fromkeys([h.strip().lower() for h in configured if h.strip()] + local))


def _split_host(value: str) -> tuple[str, str | None]:
    value = value.strip().lower()
    if value.startswith("["):
        name, _, rest = value.partition("]")
        return name + "]", rest[1:] if rest.startswith(":") else None
    name, sep, port = value.rpartition(":")
    return (name, port) if sep else (value, None)


def host_allowed(value: str, patterns: Sequence[str]) -> bool:
    if not value:
        return False
    name, port = _split_host(value)
    for pattern in patterns:
        want_name, want_port = _split_host(pattern)
        if name == want_name and (want_port in (None, "*") or want_port == port):
            return True
    return False


def _sdk_settings(hosts: tuple[str, ...] | None) -> TransportSecuritySettings:
    """The same host list, in the MCP SDK's format, for its own checks on /mcp."""
    if hosts is None:
        return TransportSecuritySettings(enable_dns_rebinding_protection=False)
    sdk_hosts: list[str] = []
    for h in hosts:
        name, port = _split_host(h)
        sdk_hosts += [name, f"{name}:*"] if port is None else [h]
    # Origins as the SDK's own loopback default: any local port (the MCP Inspector's page, for one).
    origin_hosts = [h for h in sdk_hosts if _split_host(h)[0] not in LOOPBACK_NAMES] + [f"{n}:*" for n in LOOPBACK_NAMES]
    origins = [f"{scheme}://{h}" for h in origin_hosts for scheme in ("http", "https")]
    return TransportSecuritySettings(enable_dns_rebinding_protection=True, allowed_hosts=sdk_hosts, allowed_origins=origins)


def new_csrf_token() -> str:
    nonce = secrets.token_urlsafe(18)
    return f"{nonce}.{_csrf_sign(nonce)}"


def csrf_token_valid(token: str | None) -> bool:
    nonce, _, sig = (token or "").partition(".")
    return bool(nonce) and hmac.compare_digest(sig.encode(), _csrf_sign(nonce).encode())


def _csrf_sign(nonce: str) -> str:
    digest = hmac.new(_CSRF_SECRET, nonce.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


async def _send(
    send: Send, status: int, body: bytes, headers: Sequence[tuple[bytes, bytes]] = (), drain: Receive | None = None
) -> None:
    base = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), (b"cache-control", b"no-store")]
    await send({"type": "http.response.start", "status": status, "headers": base + list(headers)})
    if drain is not None:
        # Read (and drop) the rest of the body before the response completes: a client still sending
        # would otherwise have the connection reset under it and never see the answer.
        while (await drain()).get("more_body", False):
            pass
    await send({"type": "http.response.body", "body": body})


async def _send_error(
    send: Send, status: int, message: str, headers: Sequence[tuple[bytes, bytes]] = (), drain: Receive | None = None
) -> None:
    await _send(send, status, json.dumps({"error": message}).encode(), headers, drain)


class Gate:
    """Every HTTP request but /healthz passes here, in this order:

    1. Host must be an allowed name (421), as the MCP SDK checks on /mcp: a DNS-rebinding page
       reaches the server under its own name and is turned away before anything is read.
    2. Writes to /rate must come from the page's own origin (403) as application/json (415).
    3. With a token: ``Authorization: Bearer``, or on /rate the page's cookie (401). ``?token=`` is
       taken only on ``GET /rate``: it sets the cookie and redirects to the same URL without it.
    4. Writes to /rate not sent with the bearer header need the page's CSRF token: the
       ``X-CSRF-Token`` header equal to the ``lstmabar_csrf`` cookie, signed by this process (403).
    """

    def __init__(self, app: ASGIApp, *, token: str | None, hosts: tuple[str, ...] | None) -> None:
        self.app = app
        self.token = token.encode() if token else None
        self.hosts = hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or path in PUBLIC_PATHS:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        host = headers.get("host", "")
        if self.hosts is not None and not host_allowed(host, self.hosts):
            log.warning("refused Host header %r on %s", host, path)
            await _send_error(
                send, 421,
                f"Host {host!r} is not allowed. Open the server by one of its names ({', '.join(self.hosts)}), "
                "or add the name to LSTMABAR_ALLOWED_HOSTS.",
            )
            return
        on_page = path == PAGE_PATH or path.startswith(PAGE_PATH + "/")
        write = on_page and scope.get("method", "GET") not in SAFE_METHODS
        if write:
            origin = headers.get("origin")
            if origin is not None and not _same_origin(origin, host):
                log.warning("refused a cross-origin write to %s from %r", path, origin)
                await _send_error(send, 403, "Cross-origin writes are refused: rate from the page this server serves at /rate.")
                return
            if not headers.get("content-type", "").lower().startswith("application/json"):
                await _send_error(send, 415, "Send the answer as application/json.")
                return
        via = None
        if self.token is not None:
            via = self._authorised(scope, headers, on_page)
            if via is None:
                await _send_error(
                    send, 401, "Send Authorization: Bearer <LSTMABAR_TOKEN> (the page: open /rate?token=<token> once).",
                    [(b"www-authenticate", b'Bearer realm="lstmabar"')],
                )
                return
            if via == "url":
                await self._redirect_with_cookie(scope, send)
                return
        if write and via != "header":
            cookies = cookie_parser(headers.get("cookie", ""))
            sent = headers.get(CSRF_HEADER)
            if not (sent and sent == cookies.get(CSRF_COOKIE) and csrf_token_valid(sent)):
                await _send_error(send, 403, "Missing or stale CSRF token: reload /rate and answer again.")
                return
        await self.app(scope, receive, send)

    def _authorised(self, scope: Scope, headers: Headers, on_page: bool) -> str | None:
        """How the request proved it knows the token: 'header', 'cookie', 'url', or None."""
        assert self.token is not None
        auth = headers.get("authorization", "").encode()
        if auth[:7].lower() == b"bearer " and hmac.compare_digest(auth[7:].strip(), self.token):
            return "header"
        if not on_page:
            return None
        if scope.get("path") == PAGE_PATH and scope.get("method") == "GET":
            for name, value in parse_qsl(scope.get("query_string", b"").decode("latin-1")):
                if name == "token" and hmac.compare_digest(value.encode(), self.token):
                    return "url"
        cookie = cookie_parser(headers.get("cookie", "")).get(TOKEN_COOKIE, "")
        if cookie and hmac.compare_digest(cookie.encode(), self.token):
            return "cookie"
        return None

    async def _redirect_with_cookie(self, scope: Scope, send: Send) -> None:
        assert self.token is not None
        rest = [(k, v) for k, v in parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True) if k != "token"]
        location = PAGE_PATH + (f"?{urlencode(rest)}" if rest else "")
        secure = "; Secure" if scope.get("scheme") == "https" else ""
        # Lax, not Strict: a link to the page clicked on another site still arrives logged in after
        # the redirect; every write also needs the CSRF token, and the cookie opens only /rate.
        cookie = f"{TOKEN_COOKIE}={self.token.decode()}; Path={PAGE_PATH}; HttpOnly; SameSite=Lax{secure}"
        await send({
            "type": "http.response.start",
            "status": 303,
            "headers": [
                (b"location", location.encode()),
                (b"set-cookie", cookie.encode()),
                (b"cache-control", b"no-store"),
                (b"referrer-policy", b"no-referrer"),
                (b"content-length", b"0"),
            ],
        })
        await send({"type": "http.response.body", "body": b""})


def _same_origin(origin: str, host: str) -> bool:
    parts = urlsplit(origin)
    return parts.scheme in ("http", "https") and bool(host) and parts.netloc.lower() == host.strip().lower()


class BodyLimit:
    """Answers 413 to a body over ``limit`` bytes, with a message that says the limit and what to
    send instead: a JSON-RPC error on /mcp (MCP clients show its message), ``{"error"}`` elsewhere."""

    def __init__(self, app: ASGIApp, limit: int, max_upload_bytes: int) -> None:
        self.app = app
        self.limit = limit
        self.max_upload_bytes = max_upload_bytes

    def message(self, size: int | None) -> str:
        got = f"{size / 2**20:.1f} MiB" if size is not None else f"more than {self.limit / 2**20:.1f} MiB"
        return (
            f"The request body is {got}; this server accepts at most {self.limit / 2**20:.1f} MiB per request "
            f"(audio as base64 up to {self.max_upload_bytes / 2**20:.0f} MiB). For larger audio pass a path under "
            "an allowed folder (LSTMABAR_ALLOWED_DIRS) or a URL instead of base64, or bring it into the library "
            "once with import_sound (path or URL) and pass its sound_id."
        )

    async def refuse(self, scope: Scope, receive: Receive, send: Send, size: int | None) -> None:
        log.warning("refused a %s byte request body on %s", size if size is not None else "streamed", scope.get("path"))
        close = [(b"connection", b"close")]
        if scope.get("path", "").rstrip("/") == MCP_PATH:
            body = {"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": self.message(size)}}
            await _send(send, 413, json.dumps(body).encode(), close, receive)
        else:
            await _send_error(send, 413, self.message(size), close, receive)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and declared.isdigit():
            if int(declared) > self.limit:
                await self.refuse(scope, receive, send, int(declared))
                return
            await self.app(scope, receive, send)  # the server reads no more than it declared
            return
        # No length given (chunked): read it here, counting, before the app sees any of it.
        chunks: list[bytes] = []
        total = 0
        trailing: Message | None = None
        while True:
            message = await receive()
            if message["type"] != "http.request":
                trailing = message
                break
            chunk = message.get("body", b"")
            total += len(chunk)
            if total > self.limit:
                await self.refuse(scope, receive, send, None)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        pending: list[Message] = [{"type": "http.request", "body": b"".join(chunks), "more_body": trailing is not None}]
        if trailing is not None:
            pending.append(trailing)

        async def replay() -> Message:
            return pending.pop(0) if pending else await receive()

        await self.app(scope, replay, send)


def build_http_app(
    server: MCPServer,
    *,
    host: str,
    token: str | None,
    port: int | None = None,
    allowed: Sequence[str] | None = None,
    stateless: bool | None = None,
) -> ASGIApp:
    """The MCP endpoint, the rating page and /healthz behind the Gate. ``port`` pins the loopback
    Host names to the port served (None: any port); ``allowed`` defaults to LSTMABAR_ALLOWED_HOSTS.
    ``stateless`` (default: LSTMABAR_STATELESS_HTTP) serves every request on a fresh transport with
    no session id, so replicas behind a load balancer need no sticky sessions (README, Replicas)."""
    check_token(host, token)
    config = server.state.config  # type: ignore[attr-defined]
    hosts = allowed_hosts(host, port, config.allowed_hosts if allowed is None else allowed)
    limit = request_body_limit(config.max_upload_bytes)
    stateless = config.stateless_http if stateless is None else stateless
    app: ASGIApp = server.streamable_http_app(
        host=host, transport_security=_sdk_settings(hosts), max_request_body_size=limit, stateless_http=stateless
    )
    app = BodyLimit(app, limit, config.max_upload_bytes)
    return Gate(app, token=token, hosts=hosts)


def serve_http(server: MCPServer, *, host: str, port: int, token: str | None, stateless: bool | None = None) -> None:
    import uvicorn

    app = build_http_app(server, host=host, port=port, token=token, stateless=stateless)
    log.info("serving MCP over streamable HTTP at http://%s:%d/mcp%s%s", host, port, " (token required)" if token else "",
             " (stateless: no sessions)" if stateless else "")
    uvicorn.run(app, host=host, port=port, log_level="warning")
