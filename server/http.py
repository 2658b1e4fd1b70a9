"""Streamable HTTP transport with bearer-token auth (required off loopback)."""

from __future__ import annotations

import hmac
import ipaddress
import logging

from mcp.server.mcpserver import MCPServer
from starlette.types import ASGIApp, Receive, Scope, Send

log = logging.getLogger("lstmabar")

PUBLIC_PATHS = ("/healthz",)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class BearerAuth:
    """Rejects every HTTP request (MCP endpoint, rating page, API) without ``Authorization: Bearer
    <token>`` (or, for the browser page, ``?token=`` once, which sets a cookie)."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self.token = token.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") in PUBLIC_PATHS:
            await self.app(scope, receive, send)
            return
        if self._authorised(scope):
            await self.app(scope, receive, send)
            return
        body = b'{"error": "unauthorized", "detail": "Send Authorization: Bearer <LSTMABAR_TOKEN>."}'
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"www-authenticate", b'Bearer realm="lstmabar"'),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    def _authorised(self, scope: Scope) -> bool:
        headers = dict(scope.get("headers") or [])
        auth = headers.get(b"authorization", b"")
        if auth[:7].lower() == b"bearer " and hmac.compare_digest(auth[7:].strip(), self.token):
            return True
        for part in headers.get(b"cookie", b"").split(b";"):
            name, _, value = part.strip().partition(b"=")
            if name == b"lstmabar_token" and hmac.compare_digest(value, self.token):
                return True
        query = scope.get("query_string", b"")
        for pair in query.split(b"&"):
            name, _, value = pair.partition(b"=")
            if name == b"token" and hmac.compare_digest(value, self.token):
                return True
        return False


def build_http_app(server: MCPServer, *, host: str, token: str | None) -> ASGIApp:
    if not is_loopback(host) and not token:
        raise SystemExit(
            f"Refusing to serve on {host} without a token: set LSTMABAR_TOKEN or pass --token "
            "(anyone who can reach the port could otherwise use the server)."
        )
    from mcp.server.transport_security import TransportSecuritySettings

    security = None if is_loopback(host) else TransportSecuritySettings(enable_dns_rebinding_protection=False)
    app: ASGIApp = server.streamable_http_app(host=host, transport_security=security)
    if token:
        app = BearerAuth(app, token)
    return app


def serve_http(server: MCPServer, *, host: str, port: int, token: str | None) -> None:
    import uvicorn

    app = build_http_app(server, host=host, token=token)
    log.info("serving MCP over streamable HTTP at http://%s:%d/mcp%s", host, port, " (token required)" if token else "")
    uvicorn.run(app, host=host, port=port, log_level="warning")
