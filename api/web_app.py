"""The storefront (the Vue app built into ``web/dist``) served on the API's own origin.

- ``/assets/...``: the hashed files Vite writes; their names change with their content,
  so they are cached for a year and marked immutable.
- The page routes (``/marketplace``, ``/account``, ``/publisher``, ``/admin``, ``/signin``,
  ...) answer ``index.html`` with ``Cache-Control: no-cache`` and the app's own CSP, and the
  app's router shows the page (history fallback). Only these prefixes do: ``/api/*``,
  ``/docs``, ``/openapi.json``, ``/health``, ``/ready``, ``/metrics`` and anything else
  unknown keep the API's JSON 404.
- ``/`` redirects to ``/marketplace``.

Without a built app (pure API deployments, tests) the API works as before; a page route
then answers 503 ``web_app_not_built`` saying how to build it.
"""

import re
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException

from api.security_headers import APP_POLICY

PAGE_PREFIXES = ("marketplace", "account", "publisher", "admin")
"""Sections of the app: the prefix itself and everything under it is a page."""
PAGE_PATHS = ("signin", "register", "signout", "verify-email", "reset-password")
"""Single pages outside the sections."""
ASSETS_CACHE = "public, max-age=31536000, immutable"
INDEX_CACHE = "no-cache"
NOT_BUILT = {
    "error": "web_app_not_built",
    "detail": "the storefront is not built: run `make run` (or `npm ci && npm run build` "
    "in web/) and restart the API",
}


ASSET_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]{0,199}")
"""What Vite names its output: no separator, no leading dot, so never outside assets/."""


def install_web_app(app: FastAPI, dist: Path) -> None:
    """Routes for the storefront; call after the API's routers (theirs come first)."""
    index = dist / "index.html"
    built = index.is_file()
    assets = dist / "assets"

    async def asset(name: str) -> Response:
        """Vite's hashed output: a file's name changes whenever its content does."""
        path = assets / name
        if not built or not ASSET_NAME.fullmatch(name) or ".." in name or not path.is_file():
            raise HTTPException(404)
        return FileResponse(path, headers={"Cache-Control": ASSETS_CACHE})

    async def page(request: Request) -> Response:
        if not built:
            return JSONResponse(NOT_BUILT, status_code=503, headers={"Retry-After": "60"})
        return FileResponse(
            index,
            media_type="text/html; charset=utf-8",
            headers={"Cache-Control": INDEX_CACHE, "Content-Security-Policy": APP_POLICY},
        )

    async def home(request: Request) -> Response:
        return RedirectResponse("/marketplace", status_code=302)

    methods = ["GET", "HEAD"]
    app.add_api_route("/assets/{name}", asset, methods=methods, include_in_schema=False)
    app.add_api_route("/", home, methods=methods, include_in_schema=False)
    for section in PAGE_PREFIXES:
        app.add_api_route(f"/{section}", page, methods=methods, include_in_schema=False)
        app.add_api_route(
            f"/{section}/{{rest:path}}", page, methods=methods, include_in_schema=False
        )
    for single in PAGE_PATHS:
        app.add_api_route(f"/{single}", page, methods=methods, include_in_schema=False)
