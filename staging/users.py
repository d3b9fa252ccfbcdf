"""The review page's users, sessions and login attempts.

Password hashing is the caller's (review.auth, argon2): this module stores and reads rows.
Session tokens are opaque random strings; only their sha256 is stored. A session ends when it
is revoked (logout), idle for longer than the idle timeout, or older than the absolute one.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from staging.db import Conn

ROLES = ("clerk", "approver", "vendor_admin", "auditor", "admin")


def _sha(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def add_user(conn: Conn, user_name: str, role: str, password_hash: str) -> None:
    """Create a user, or replace the role and password of an existing one."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}: one of {', '.join(ROLES)}")
    with conn.transaction():
        conn.execute(
            "INSERT INTO review_users (user_name, role, password_hash) VALUES (%s, %s, %s)"
            " ON CONFLICT (user_name) DO UPDATE SET role = EXCLUDED.role,"
            " password_hash = EXCLUDED.password_hash, disabled = false",
            (user_name, role, password_hash),
        )
        conn.execute(
            "UPDATE review_sessions SET revoked_at = now() WHERE user_name = %s"
            " AND revoked_at IS NULL",
            (user_name,),
        )


def user_row(conn: Conn, user_name: str) -> dict[str, Any] | None:
    """The user's row (user_name, role, password_hash, disabled), or None."""
    return conn.execute(
        "SELECT user_name, role, password_hash, disabled FROM review_users WHERE user_name = %s",
        (user_name,),
    ).fetchone()


def record_login_attempt(conn: Conn, user_name: str, succeeded: bool) -> None:
    """Remember one login attempt (throttling counts the failed ones)."""
    conn.execute(
        "INSERT INTO review_login_attempts (user_name, succeeded) VALUES (%s, %s)",
        (user_name[:64], succeeded),
    )


def recent_failures(conn: Conn, user_name: str, window_seconds: int) -> int:
    """Failed logins for this name within the window since its last success."""
    row = conn.execute(
        "SELECT count(*) AS n FROM review_login_attempts WHERE user_name = %s AND NOT succeeded"
        " AND at > now() - make_interval(secs => %s) AND at > coalesce((SELECT max(at) FROM"
        " review_login_attempts WHERE user_name = %s AND succeeded), '-infinity')",
        (user_name[:64], window_seconds, user_name[:64]),
    ).fetchone()
    return int(row["n"]) if row else 0


def create_session(conn: Conn, user_name: str) -> tuple[str, str]:
    """A new session for the user: (the opaque token for the cookie, its CSRF token)."""
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    conn.execute(
        "INSERT INTO review_sessions (token_sha256, user_name, csrf_token) VALUES (%s, %s, %s)",
        (_sha(token), user_name, csrf),
    )
    return token, csrf


def session_user(
    conn: Conn, token: str, idle_seconds: int, absolute_seconds: int
) -> dict[str, Any] | None:
    """The live session's user (user_name, role, csrf_token), touching its idle clock; None when
    the token is unknown, revoked, idle too long, too old, or its user disabled."""
    return conn.execute(
        "UPDATE review_sessions s SET last_seen_at = now() FROM review_users u"
        " WHERE s.token_sha256 = %s AND u.user_name = s.user_name AND NOT u.disabled"
        " AND s.revoked_at IS NULL AND s.last_seen_at > now() - make_interval(secs => %s)"
        " AND s.created_at > now() - make_interval(secs => %s)"
        " RETURNING u.user_name, u.role, s.csrf_token",
        (_sha(token), idle_seconds, absolute_seconds),
    ).fetchone()


def revoke_session(conn: Conn, token: str) -> None:
    """End a session (logout)."""
    conn.execute(
        "UPDATE review_sessions SET revoked_at = now() WHERE token_sha256 = %s", (_sha(token),)
    )


def revoke_user_sessions(conn: Conn, user_name: str) -> int:
    """End every session of a user; returns how many were live."""
    cur = conn.execute(
        "UPDATE review_sessions SET revoked_at = now() WHERE user_name = %s"
        " AND revoked_at IS NULL",
        (user_name,),
    )
    return cur.rowcount
