"""Who may do what on the review page, and the checks every request passes.

One dependency, `require(action)`, guards every route: it finds the session from its opaque
cookie (staging.users), checks the user's role against `PERMISSIONS[action]` and, for a
state-changing request, the CSRF token and that the request comes from this site (Origin /
Sec-Fetch-Site). Passwords are argon2 hashes (argon2-cffi defaults).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import Depends, HTTPException, Request

from staging import users

COOKIE = "ap_review_session"
READ = ("clerk", "approver", "vendor_admin", "auditor", "admin")
WORK = ("clerk", "approver", "admin")
# action -> the roles allowed; an auditor reads everything and changes nothing
PERMISSIONS: dict[str, tuple[str, ...]] = {
    "read": READ,
    "work": WORK,  # claim, correct, hold, reject, reassign, comment, not a duplicate, propose
    "approve": WORK,  # over the amount limit: approver or admin only (see may_approve)
    "confirm_bank": ("vendor_admin", "approver", "admin"),
    "void": ("approver", "admin"),  # a synced invoice: a credit note goes to the ERP
    "logout": READ,
}
_hasher = PasswordHasher()
# verified against when a user name is unknown, so timing does not tell names apart
_DUMMY_HASH = _hasher.hash("not a password")


@dataclass(frozen=True)
class Clerk:
    """The user behind a request."""

    user_name: str
    role: str
    csrf_token: str


def hash_password(password: str) -> str:
    """An argon2 hash of the password."""
    if len(password) < 8:
        raise ValueError("a password has at least 8 characters")
    return _hasher.hash(password)


def password_matches(stored_hash: str | None, password: str) -> bool:
    """Whether the password matches the stored hash (always spends one verification)."""
    try:
        return bool(_hasher.verify(stored_hash or _DUMMY_HASH, password)) and bool(stored_hash)
    except (VerificationError, InvalidHashError):
        return False


def may_approve(role: str, total: Any, limit: Any) -> bool:
    """Approving an invoice whose total is over the limit needs role approver (or admin)."""
    if role in ("approver", "admin"):
        return True
    return total is None or total <= limit


def same_site(request: Request, base_url: str) -> bool:
    """Whether a state-changing request comes from this site (Origin, else Sec-Fetch-Site)."""
    origin = request.headers.get("origin")
    if origin is not None:
        own = {base_url.rstrip("/"), f"{request.url.scheme}://{request.url.netloc}"}
        return origin.rstrip("/") in own
    fetch_site = request.headers.get("sec-fetch-site")
    return fetch_site in (None, "same-origin", "none")


def require(action: str) -> Callable[..., Any]:
    """The dependency of a route: the Clerk, or 401/403 (and 403 on a CSRF or origin miss)."""
    allowed = PERMISSIONS[action]

    async def dependency(request: Request) -> Clerk:
        app = request.app.state
        token = request.cookies.get(COOKIE)
        row = None
        if token and len(token) < 200:
            with app.connect() as conn:
                row = users.session_user(
                    conn, token, app.settings.review_session_idle_minutes * 60,
                    app.settings.review_session_absolute_hours * 3600,
                )
        if row is None:
            raise HTTPException(401, "please log in")
        clerk = Clerk(row["user_name"], row["role"], row["csrf_token"])
        if request.method != "GET":
            await _check_csrf(request, clerk, app.settings.review_base_url)
        if clerk.role not in allowed:
            raise HTTPException(403, f"role {clerk.role} may not {action.replace('_', ' ')}")
        return clerk

    return dependency


async def _check_csrf(request: Request, clerk: Clerk, base_url: str) -> None:
    if not same_site(request, base_url):
        raise HTTPException(403, "this request did not come from the review page")
    sent = request.headers.get("x-csrf-token")
    if sent is None:
        form = await request.form()
        value = form.get("csrf_token")
        sent = value if isinstance(value, str) else None
    if sent != clerk.csrf_token:
        raise HTTPException(403, "the form's security token is missing or stale: reload the page")


# the route parameter types: `clerk: AsWork` checks the session and role "work"
AsRead = Annotated[Clerk, Depends(require("read"))]
AsWork = Annotated[Clerk, Depends(require("work"))]
AsConfirmBank = Annotated[Clerk, Depends(require("confirm_bank"))]
AsLogout = Annotated[Clerk, Depends(require("logout"))]
AsVoid = Annotated[Clerk, Depends(require("void"))]
