"""Tryton's JSON-RPC over httpx (`POST /<db>/rpc/`): a session with login and re-login, the
tagged JSON values (Decimal, date, bytes), and Tryton's errors sorted into refusals
(`ErpRejected`: a user error, a warning, a validation error, with Tryton's message) and faults
(`ErpUnavailable`: transport, timeouts, server errors). Every call of a push shares the push's
deadline (`deadline`), so a whole push ends within its timeout.
"""

from __future__ import annotations

import base64
import time
from datetime import date
from decimal import Decimal
from typing import Any

import httpx

from erp_sync.adapters import ErpRejected, ErpTimeout, ErpUnavailable

REFUSALS = (
    "UserError",
    "UserWarning",
    "AccessError",
    "ValidationError",
    "RequiredValidationError",
    "DomainValidationError",
    "SelectionValidationError",
)


def encode(value: Any) -> Any:
    """A value in Tryton's JSON (Decimal, date and bytes as tagged objects)."""
    if isinstance(value, Decimal):
        return {"__class__": "Decimal", "decimal": str(value)}
    if isinstance(value, date):
        return {"__class__": "date", "year": value.year, "month": value.month, "day": value.day}
    if isinstance(value, bytes):
        return {"__class__": "bytes", "base64": base64.b64encode(value).decode("ascii")}
    if isinstance(value, dict):
        return {k: encode(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [encode(v) for v in value]
    return value


def decode(value: Any) -> Any:
    """A value from Tryton's JSON."""
    if isinstance(value, dict):
        kind = value.get("__class__")
        if kind == "Decimal":
            return Decimal(value["decimal"])
        if kind == "date":
            return date(value["year"], value["month"], value["day"])
        if kind == "bytes":
            return base64.b64decode(value["base64"])
        return {k: decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decode(v) for v in value]
    return value


class TrytonRpc:
    """A JSON-RPC session with one Tryton database."""

    def __init__(self, url: str, database: str, user: str, password: str, timeout: float) -> None:
        self.endpoint = f"{url.rstrip('/')}/{database}/rpc/"
        self.user, self.password, self.timeout = user, password, timeout
        self.http = httpx.Client(timeout=timeout)
        self.auth: str | None = None
        self.deadline: float | None = None
        self.context: dict[str, Any] = {}
        self.company: int | None = None  # None: the user's current company

    def close(self) -> None:
        """Close the HTTP client."""
        self.http.close()

    def _post(self, method: str, params: list[Any]) -> Any:
        timeout = self.timeout
        if self.deadline is not None:
            timeout = self.deadline - time.monotonic()
            if timeout <= 0:
                raise ErpTimeout(f"the push ran out of its {self.timeout} s before {method}")
        headers = {"Authorization": self.auth} if self.auth else {}
        try:
            response = self.http.post(
                self.endpoint,
                json={"id": 1, "method": method, "params": encode(params)},
                headers=headers,
                timeout=timeout,
            )
        except httpx.TimeoutException as exc:
            raise ErpTimeout(f"Tryton did not answer {method} in time: {exc!r}") from exc
        except httpx.HTTPError as exc:
            raise ErpUnavailable(f"Tryton unreachable ({method}): {exc!r}") from exc
        if response.status_code in (401, 403):
            return _Unauthorized
        if response.status_code != 200:
            raise ErpUnavailable(f"Tryton answered HTTP {response.status_code} to {method}")
        body = response.json()
        if "error" in body and body["error"]:
            _raise_error(method, body["error"])
        return decode(body.get("result"))

    def login(self) -> None:
        """Open a session (user and password from the settings)."""
        self.auth = None
        result = self._post("common.db.login", [self.user, {"password": self.password}, "en"])
        if result is _Unauthorized or not result:
            raise ErpRejected(f"Tryton refused the login of {self.user}")
        token = f"{self.user}:{result[0]}:{result[1]}".encode()
        self.auth = "Session " + base64.b64encode(token).decode("ascii")
        preferences = self._post("model.res.user.get_preferences", [True, {}])
        company = self.company or (preferences or {}).get("company")
        self.context = {"company": company, "companies": [company]} if company else {}

    def call(self, method: str, *params: Any) -> Any:
        """Call a method (logging in first, and again once if the session expired)."""
        if self.auth is None:
            self.login()
        result = self._post(method, list(params))
        if result is _Unauthorized:
            self.login()
            result = self._post(method, list(params))
            if result is _Unauthorized:
                raise ErpRejected(f"Tryton refused {method} to {self.user}")
        return result

    def search(self, model: str, domain: list[Any], limit: int | None = None) -> list[int]:
        """Ids of the records of `model` matching a domain."""
        return list(self.call(f"model.{model}.search", domain, 0, limit, None, self.context))

    def read(self, model: str, ids: list[int], fields: list[str]) -> list[dict[str, Any]]:
        """The fields of some records."""
        return list(self.call(f"model.{model}.read", ids, fields, self.context))

    def create(self, model: str, values: dict[str, Any]) -> int:
        """Create one record; its id."""
        return int(self.call(f"model.{model}.create", [values], self.context)[0])


class _UnauthorizedType:
    pass


_Unauthorized = _UnauthorizedType()


def _raise_error(method: str, error: Any) -> None:
    kind = error[0] if isinstance(error, list) and error else str(error)
    args = error[1] if isinstance(error, list) and len(error) > 1 else []
    if kind == "UserWarning" and isinstance(args, list) and len(args) > 1:
        args = args[1:]  # the warning's name first
    text = " ".join(str(a) for a in (args if isinstance(args, list) else [args]) if a)
    message = f"Tryton {kind} in {method}: {text}".strip()[:600]
    if kind in REFUSALS:
        raise ErpRejected(message)
    raise ErpUnavailable(message)
