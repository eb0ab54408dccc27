"""Unit tests of UserProfile: decay, out-of-order events, trimming and JSON round trip."""

from __future__ import annotations

import math

import pytest

from rankers.profile import UserProfile

DAY_S = 86400.0
HALF_LIFE_DAYS = 10.0
T0 = 1_300_000_000.0


def apply(
    profile: UserProfile,
    event_type: str,
    doc_id: str,
    timestamp: float,
    price: float | None = None,
    max_items: int = 100,
) -> None:
    profile.apply(event_type, doc_id, timestamp, price, HALF_LIFE_DAYS, max_items)


def test_weight_halves_after_one_half_life() -> None:
    profile = UserProfile(user_id="u1")
    apply(profile, "purchase", "a", T0)
    apply(profile, "view", "b", T0 + HALF_LIFE_DAYS * DAY_S)

    assert profile.items["a"].weight == pytest.approx(0.5)
    assert profile.items["b"].weight == pytest.approx(0.1)
    assert profile.updated_at == T0 + HALF_LIFE_DAYS * DAY_S


def test_price_moments_decay_with_weights() -> None:
    profile = UserProfile(user_id="u1")
    apply(profile, "purchase", "a", T0, price=math.e)
    apply(profile, "purchase", "b", T0 + HALF_LIFE_DAYS * DAY_S, price=1.0)

    mean, _ = profile.price_moments()

    # Weights 0.5 (log price 1) and 1.0 (log price 0).
    assert mean == pytest.approx(0.5 / 1.5)


def test_out_of_order_event_counts_less_without_rewinding() -> None:
    profile = UserProfile(user_id="u1")
    apply(profile, "purchase", "a", T0 + HALF_LIFE_DAYS * DAY_S)
    apply(profile, "purchase", "b", T0)

    assert profile.updated_at == T0 + HALF_LIFE_DAYS * DAY_S
    assert profile.items["b"].weight == pytest.approx(0.5)
    assert profile.items["b"].last_ts == T0
    assert profile.purchase_count == 2


def test_out_of_order_matches_in_order_weights() -> None:
    in_order = UserProfile(user_id="u1")
    out_of_order = UserProfile(user_id="u1")
    events = [("purchase", "a", T0), ("click", "a", T0 + 3 * DAY_S), ("add_to_cart", "b", T0 + 7 * DAY_S)]

    for event_type, doc_id, timestamp in events:
        apply(in_order, event_type, doc_id, timestamp)
    for event_type, doc_id, timestamp in reversed(events):
        apply(out_of_order, event_type, doc_id, timestamp)

    assert out_of_order.updated_at == in_order.updated_at
    for doc_id in ("a", "b"):
        assert out_of_order.items[doc_id].weight == pytest.approx(in_order.items[doc_id].weight)


def test_trim_keeps_heaviest_items() -> None:
    profile = UserProfile(user_id="u1")
    apply(profile, "view", "light", T0, max_items=2)
    apply(profile, "purchase", "heavy", T0, max_items=2)
    apply(profile, "add_to_cart", "medium", T0, max_items=2)

    assert set(profile.items) == {"heavy", "medium"}
    assert profile.event_count == 3


def test_unknown_event_type_changes_nothing() -> None:
    profile = UserProfile(user_id="u1")
    apply(profile, "impression", "a", T0)

    assert profile.items == {}
    assert profile.event_count == 0


def test_json_round_trip() -> None:
    profile = UserProfile(user_id="17841")
    apply(profile, "purchase", "85123A", T0, price=2.55)
    apply(profile, "click", "22423", T0 + DAY_S)

    restored = UserProfile.from_json(profile.to_json())

    assert restored == profile


def test_json_round_trip_from_bytes() -> None:
    profile = UserProfile(user_id="u1")
    apply(profile, "view", "a", T0)

    assert UserProfile.from_json(profile.to_json().encode()) == profile
