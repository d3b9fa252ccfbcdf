"""The clerks' review page: a FastAPI app with server-rendered Jinja2 pages and htmx.

`create_app(settings)` builds it; `invoices review` serves it with uvicorn. Every route goes
through `review.auth.require`; the queue and item routes are in `review.routes`. Nothing is
loaded from a CDN: htmx is a static file of this package.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from invoices.settings import Settings
from review.auth import COOKIE, AsLogout, password_matches, same_site
from review.corrections import money, plain
from staging import db, users

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(HERE / "templates"))
templates.env.filters["plain"] = plain  # Decimal without trailing zeros or exponent
templates.env.filters["money"] = money  # at least two decimals
MAX_BODY_BYTES = 64 * 1024  # a form bigger than this is refused before it is parsed


class _State:
    """What every request shares: settings and how to get a connection."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.pool: db.ConnectionPool | None = None

    @contextmanager
    def connect(self) -> Iterator[db.Conn]:
        """A pooled autocommit connection (each staging call makes its own transaction)."""
        if self.pool is None:
            assert self.settings.database_url
            self.pool = db.ConnectionPool(self.settings.database_url, self.settings.db_schema)
        with self.pool.connection() as conn:
            yield conn


def render(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    """A page from templates/ with the common context."""
    return templates.TemplateResponse(request, name, context, status_code=status)


def create_app(settings: Settings) -> FastAPI:
    """The review page for the store named by settings."""
    from review import erp_routes, routes, vendor_routes

    app = FastAPI(title="AP review", docs_url=None, redoc_url=None, openapi_url=None)
    state = _State(settings)
    app.state.settings = settings
    app.state.connect = state.connect
    app.router.add_event_handler("shutdown", lambda: state.pool.close() if state.pool else None)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.middleware("http")(_limits_and_headers)
    app.exception_handler(HTTPException)(_http_error)
    app.get("/login", response_class=HTMLResponse)(login_page)
    app.post("/login")(login)
    app.post("/logout")(logout)
    app.include_router(routes.router)
    app.include_router(vendor_routes.router)
    app.include_router(erp_routes.router)
    return app


async def _limits_and_headers(request: Request, call_next: Any) -> Response:
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > MAX_BODY_BYTES:
        return HTMLResponse("<p>That is too much text for one form (at most 64 KB).</p>", 413)
    started = time.perf_counter()
    response: Response = await call_next(request)
    response.headers["Server-Timing"] = f"app;dur={1000 * (time.perf_counter() - started):.1f}"
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self';"
        " frame-ancestors 'none'; form-action 'self'"
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    return response


async def _http_error(request: Request, exc: HTTPException) -> Response:
    if exc.status_code == 401 and request.method == "GET":
        return RedirectResponse("/login", 303)
    return render(request, "error.html", exc.status_code, message=exc.detail, clerk=None)


async def login_page(request: Request) -> HTMLResponse:
    """The login form."""
    return render(request, "login.html", clerk=None, error=None)


async def login(request: Request) -> Response:
    """Check name and password (throttled per name); start a session."""
    s: Settings = request.app.state.settings
    if not same_site(request, s.review_base_url):
        raise HTTPException(403, "this request did not come from the review page")
    form = await request.form()
    name = str(form.get("user_name", ""))[:64].strip().lower()
    password = str(form.get("password", ""))[:256]
    with request.app.state.connect() as conn:
        if users.recent_failures(conn, name, s.review_login_window_seconds) >= (
            s.review_login_max_failures
        ):
            return render(request, "login.html", 429, clerk=None,
                          error="Too many failed attempts: wait 15 minutes and try again.")
        row = users.user_row(conn, name)
        ok = password_matches(row["password_hash"] if row else None, password)
        ok = ok and row is not None and not row["disabled"]
        users.record_login_attempt(conn, name, ok)
        if not ok:
            return render(request, "login.html", 401, clerk=None,
                          error="Unknown user name or wrong password.")
        token, _ = users.create_session(conn, name)
    response = RedirectResponse("/", 303)
    response.set_cookie(
        COOKIE, token, httponly=True, samesite="strict", secure=s.review_cookie_secure,
        max_age=s.review_session_absolute_hours * 3600, path="/",
    )
    return response


async def logout(request: Request, clerk: AsLogout) -> Response:
    """End the session."""
    with request.app.state.connect() as conn:
        users.revoke_session(conn, request.cookies.get(COOKIE, ""))
    response = RedirectResponse("/login", 303)
    response.delete_cookie(COOKIE, path="/")
    return response
