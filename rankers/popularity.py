"""Decayed item popularity kept as one additive score per item, so updates commute."""

from __future__ import annotations

import math

# Scores are 2 ** ((t - REFERENCE_TS) / half_life) summed per event. The reference keeps the
# exponent small: 2001-01-01 UTC, so a 30-day half-life stays below float64's limit for 80 years.
REFERENCE_TS = 978307200.0


def popularity_increment(timestamp: float, half_life_days: float, weight: float = 1.0) -> float:
    """Return what one event at `timestamp` adds to its item's popularity score."""
    return weight * 2.0 ** ((timestamp - REFERENCE_TS) / (half_life_days * 86400.0))


def decayed_popularity(score: float, now: float, half_life_days: float) -> float:
    """Turn a stored score into log2 of the decayed event count at `now` (NaN for no events)."""
    if score <= 0:
        return math.nan

    return math.log2(score) - (now - REFERENCE_TS) / (half_life_days * 86400.0)
