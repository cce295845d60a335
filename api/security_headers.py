"""Security headers on every answer (spec §5.3): no sniffing, no referrer, no framing, a
Content-Security-Policy that lets a JSON answer run nothing and the interactive docs load
only their own assets, and HSTS when the request came over TLS."""

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

ALWAYS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}
API_POLICY = "default-src 'none'; frame-ancestors 'none'"
DOCS_ASSETS = "https://cdn.jsdelivr.net"
HTML_POLICY = (
    "default-src 'none'; "
    f"script-src 'self' 'unsafe-inline' {DOCS_ASSETS}; "
    f"style-src 'self' 'unsafe-inline' {DOCS_ASSETS} https://fonts.googleapis.com; "
    f"img-src 'self' data: https://fastapi.tiangolo.com {DOCS_ASSETS}; "
    "font-src 'self' data: https://fonts.gstatic.com; connect-src 'self'; "
    "worker-src 'self' blob:; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
"""The Swagger UI and ReDoc pages (``/docs``, ``/redoc``): their bundles come from the CDN
FastAPI names and start with an inline script, ReDoc adds its fonts and a search worker;
nothing else may load."""
APP_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data: https:; font-src 'self'; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
"""The storefront's ``index.html`` (api/web_app.py sets it on that answer): scripts and
styles only from this origin, never inline, so a stored ``<script>`` or ``onerror=`` that
got past the sanitizer still cannot run; images may come from any HTTPS host (module icons
and screenshots are URLs their publishers give)."""
HSTS = "max-age=31536000; includeSubDomains"


class SecurityHeadersMiddleware:
    """Adds the headers to every HTTP answer; an answer that sets one itself keeps its own."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        over_tls = scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                html = headers.get("content-type", "").startswith("text/html")
                wanted = ALWAYS | {"Content-Security-Policy": HTML_POLICY if html else API_POLICY}
                if over_tls:
                    wanted["Strict-Transport-Security"] = HSTS
                for name, value in wanted.items():
                    if name not in headers:
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)
