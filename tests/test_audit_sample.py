"""Drift: the audit sample of straight-through invoices (off by default)."""

from __future__ import annotations

import hashlib

from invoices.routing import audit_sampled
from invoices.settings import load_settings


def _sha(i: int) -> str:
    return hashlib.sha256(str(i).encode()).hexdigest()


def test_off_by_default():
    assert load_settings().audit_sample_share == 0.0
    assert not any(audit_sampled(_sha(i), 0.0) for i in range(200))


def test_the_share_is_kept_and_stable():
    picked = [i for i in range(2000) if audit_sampled(_sha(i), 0.1)]
    assert 160 <= len(picked) <= 240  # about one in ten
    assert picked == [i for i in range(2000) if audit_sampled(_sha(i), 0.1)]
    assert all(audit_sampled(_sha(i), 1.0) for i in range(50))
    assert not audit_sampled("", 1.0)
