"""Per-run budget and circuit breaker around the language-model endpoint.

The budget caps calls, tokens and estimated cost for one run; once spent, the run goes on with
the history backend and marks the lines LLM_BUDGET_EXHAUSTED. The breaker opens after a run of
consecutive failures and stays open for a cool-down, so a dead endpoint costs a few timeouts,
not one per line; the lines are marked LLM_UNAVAILABLE. Retries back off exponentially with
full jitter. Time and randomness are injected so the tests need no sleeping.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal


@dataclass
class Budget:
    """What one run may spend on the language model; `None` means no cap."""

    max_calls: int | None = 200
    max_tokens: int | None = 200_000
    max_cost: Decimal | None = None
    cost_per_1k_tokens: Decimal = Decimal("0")
    calls: int = 0
    tokens: int = 0

    @property
    def cost(self) -> Decimal:
        """Estimated cost spent so far."""
        return (Decimal(self.tokens) * self.cost_per_1k_tokens / 1000).quantize(Decimal("0.0001"))

    def allows(self, estimated_tokens: int) -> bool:
        """Whether one more call of about `estimated_tokens` tokens fits in the budget."""
        if self.max_calls is not None and self.calls + 1 > self.max_calls:
            return False
        if self.max_tokens is not None and self.tokens + estimated_tokens > self.max_tokens:
            return False
        if self.max_cost is not None:
            extra = Decimal(estimated_tokens) * self.cost_per_1k_tokens / 1000
            if self.cost + extra > self.max_cost:
                return False
        return True

    def spend(self, tokens: int) -> None:
        """Record one call and the tokens it used."""
        self.calls += 1
        self.tokens += tokens

    def summary(self) -> dict[str, str | int | None]:
        """Spent and allowed, for the run's metrics."""
        return {
            "calls": self.calls,
            "tokens": self.tokens,
            "cost": str(self.cost),
            "max_calls": self.max_calls,
            "max_tokens": self.max_tokens,
            "max_cost": None if self.max_cost is None else str(self.max_cost),
        }


@dataclass
class CircuitBreaker:
    """Closed -> open after `failure_threshold` failures in a row -> half-open after cool-down."""

    failure_threshold: int = 3
    cooldown_seconds: float = 30.0
    clock: Callable[[], float] = time.monotonic
    failures: int = 0
    opened_at: float | None = None
    trips: int = 0

    @property
    def state(self) -> str:
        """closed, open or half_open."""
        if self.opened_at is None:
            return "closed"
        if self.clock() - self.opened_at >= self.cooldown_seconds:
            return "half_open"
        return "open"

    def allows(self) -> bool:
        """Whether a call may go through now (one trial call when half-open)."""
        return self.state != "open"

    def record_success(self) -> None:
        """A call succeeded: close the breaker."""
        self.failures = 0
        self.opened_at = None

    def record_failure(self) -> None:
        """A call failed: count it and open the breaker at the threshold (or if half-open)."""
        self.failures += 1
        if self.state == "half_open" or self.failures >= self.failure_threshold:
            self.opened_at = self.clock()
            self.trips += 1


@dataclass
class Backoff:
    """Exponential backoff with full jitter: sleep uniform(0, min(cap, base * 2**attempt))."""

    base_seconds: float = 0.5
    cap_seconds: float = 8.0
    rng: random.Random = field(default_factory=random.Random)
    sleep: Callable[[float], None] = time.sleep

    def delay(self, attempt: int) -> float:
        """The jittered delay before retry number `attempt` (0-based)."""
        return self.rng.uniform(0.0, min(self.cap_seconds, self.base_seconds * 2**attempt))

    def wait(self, attempt: int) -> float:
        """Sleep before retry `attempt`; returns the seconds slept."""
        seconds = self.delay(attempt)
        self.sleep(seconds)
        return seconds
