"""The joint threshold choice: a stricter target on generated sets, a precision floor per field."""

from __future__ import annotations

from extractors.confidence import (
    GENERATED_TARGET,
    TARGET,
    set_targets,
    thresholds_on_scores,
)

Pairs = list[tuple[float, bool]]


def _pairs(*groups: tuple[float, bool, int]) -> Pairs:
    """(confidence, right, how many) groups as pairs, most confident first."""
    out = [(conf, ok) for conf, ok, n in groups for _ in range(n)]
    return sorted(out, key=lambda p: -p[0])


def test_generated_sets_are_held_to_their_own_stricter_target() -> None:
    # at 0.90 the generated set is right 500/503 = 0.994: enough for 0.99, not for 0.995
    generated = {"total": _pairs((0.99, True, 300), (0.90, True, 200), (0.90, False, 3))}
    real = {"total": _pairs((0.99, True, 100), (0.90, True, 50))}
    rows = {"samples_generated_families": generated, "samples_zugferd": real}
    assert thresholds_on_scores(rows, 0.99)["total"] == 0.90
    targets = {"samples_generated_families": 0.995}
    assert thresholds_on_scores(rows, 0.99, targets=targets)["total"] == 0.99
    # a real set at 0.994 still passes its own 0.99 beside a strict generated set
    rows = {"samples_generated_families": real, "samples_zugferd": generated}
    assert thresholds_on_scores(rows, 0.99, targets=targets)["total"] == 0.90


def test_set_targets_name_the_generated_corpora() -> None:
    names = [
        "samples_generated_born_digital",
        "samples_generated_families",
        "samples_zugferd_scan",
        "sroie",
        "generated_scanned",
    ]
    assert set_targets(names) == {
        "samples_generated_born_digital": GENERATED_TARGET,
        "samples_generated_families": GENERATED_TARGET,
        "samples_zugferd_scan": TARGET,
        "sroie": TARGET,
        "generated_scanned": GENERATED_TARGET,
    }
    assert GENERATED_TARGET > TARGET


def test_a_weak_field_cannot_ride_on_the_strong_ones() -> None:
    # 1000 sure totals carry 5 wrong addresses of 55 (0.91) within the set's 0.99 (1050/1055)
    rows = {
        "set": {
            "total": _pairs((0.99, True, 1000)),
            "vendor_address": _pairs((0.95, True, 40), (0.80, True, 50), (0.80, False, 5)),
        }
    }
    assert thresholds_on_scores(rows, 0.99)["vendor_address"] == 0.80
    chosen = thresholds_on_scores(rows, 0.99, field_target=0.98)
    assert chosen == {"total": 0.99, "vendor_address": 0.95}


def test_the_field_floor_counts_a_field_over_every_set() -> None:
    # one wrong address in a small set is fine when the field, all sets together, holds 0.98
    rows = {
        "a": {"total": _pairs((0.99, True, 500)), "vendor_address": _pairs((0.9, True, 9))},
        "b": {"total": _pairs((0.99, True, 500)), "vendor_address": _pairs((0.9, True, 90))},
        "c": {"total": _pairs((0.99, True, 500)), "vendor_address": _pairs((0.9, False, 1))},
    }
    assert thresholds_on_scores(rows, 0.99, field_target=0.98)["vendor_address"] == 0.9
    rows["c"]["vendor_address"] = _pairs((0.9, False, 3))  # 99/102 = 0.97
    assert thresholds_on_scores(rows, 0.99, field_target=0.98)["vendor_address"] == 1.0
