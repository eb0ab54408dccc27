"""Validation of storefront events: each type, missing and mistyped fields, timestamps and user ids."""

from __future__ import annotations

import time
from typing import Any

import pytest

from workers.events import (
    AddToCartEvent,
    ClickEvent,
    ImpressionEvent,
    PurchaseEvent,
    ViewEvent,
    event_to_json,
    parse_event_json,
    validate_events,
)

TS = 1_323_435_000.0  # 2011-12-09T12:50:00Z

VALID_EVENTS: dict[str, dict[str, Any]] = {
    "impression": {
        "event_id": "e-imp",
        "type": "impression",
        "timestamp": TS,
        "user_id": "u1",
        "search_id": "s1",
        "query": "",
        "doc_ids": ["a", "b", "c"],
    },
    "click": {"event_id": "e-click", "type": "click", "timestamp": TS, "search_id": "s1", "doc_id": "b", "position": 2},
    "add_to_cart": {"event_id": "e-cart", "type": "add_to_cart", "timestamp": TS, "user_id": "u1", "doc_id": "b"},
    "view": {"event_id": "e-view", "type": "view", "timestamp": TS, "doc_id": "b"},
    "purchase": {
        "event_id": "e-buy",
        "type": "purchase",
        "timestamp": TS,
        "user_id": "u1",
        "doc_id": "b",
        "quantity": 3,
        "price": 2.55,
    },
}

EXPECTED_CLASSES = {
    "impression": ImpressionEvent,
    "click": ClickEvent,
    "add_to_cart": AddToCartEvent,
    "view": ViewEvent,
    "purchase": PurchaseEvent,
}


# Marks a field to delete in with_changes.
REMOVE = object()


def with_changes(event_type: str, **changes: Any) -> dict[str, Any]:
    event = dict(VALID_EVENTS[event_type])
    for name, value in changes.items():
        if value is REMOVE:
            del event[name]
        else:
            event[name] = value
    return event


def errors_of(raw: Any) -> list[dict[str, Any]]:
    valid, rejected = validate_events([raw])
    assert valid == []
    assert len(rejected) == 1
    return [error.to_dict() for error in rejected[0].errors]


@pytest.mark.parametrize("event_type", sorted(VALID_EVENTS))
def test_each_type_valid(event_type: str) -> None:
    valid, rejected = validate_events([VALID_EVENTS[event_type]])

    assert rejected == []
    assert isinstance(valid[0], EXPECTED_CLASSES[event_type])
    assert valid[0].timestamp == TS


@pytest.mark.parametrize("event_type", sorted(VALID_EVENTS))
def test_json_round_trip(event_type: str) -> None:
    valid, _ = validate_events([VALID_EVENTS[event_type]])

    assert parse_event_json(event_to_json(valid[0])) == valid[0]


@pytest.mark.parametrize(
    ("event_type", "field"),
    [
        ("impression", "search_id"),
        ("impression", "query"),
        ("impression", "doc_ids"),
        ("click", "position"),
        ("click", "doc_id"),
        ("add_to_cart", "doc_id"),
        ("view", "doc_id"),
        ("purchase", "quantity"),
        ("purchase", "price"),
        ("purchase", "event_id"),
        ("purchase", "timestamp"),
    ],
)
def test_missing_field_named(event_type: str, field: str) -> None:
    errors = errors_of(with_changes(event_type, **{field: REMOVE}))

    assert errors == [{"field": field, "message": f"The field '{field}' is required for a {event_type} event."}]


@pytest.mark.parametrize(
    ("event_type", "field", "value"),
    [
        ("impression", "doc_ids", "a,b"),
        ("impression", "doc_ids", []),
        ("impression", "query", None),
        ("click", "position", "2"),
        ("click", "position", 0),
        ("click", "position", 1.5),
        ("click", "position", True),
        ("purchase", "quantity", 0),
        ("purchase", "quantity", 2.0),
        ("purchase", "price", 0),
        ("purchase", "price", -1.0),
        ("purchase", "price", "2.55"),
        ("purchase", "price", float("nan")),
        ("purchase", "price", float("inf")),
        ("view", "doc_id", 123),
        ("view", "doc_id", ""),
        ("view", "event_id", "x" * 129),
        ("view", "user_id", 17841.0),
        ("view", "user_id", True),
        ("view", "user_id", ""),
    ],
)
def test_wrong_value_named(event_type: str, field: str, value: Any) -> None:
    errors = errors_of(with_changes(event_type, **{field: value}))

    assert [error["field"] for error in errors] == [field]
    assert errors[0]["message"].endswith(".")


def test_wrong_type_in_list_names_index() -> None:
    errors = errors_of(with_changes("impression", doc_ids=["a", 7, "c"]))

    assert [error["field"] for error in errors] == ["doc_ids.1"]


def test_unknown_type_rejected() -> None:
    errors = errors_of({"event_id": "e1", "type": "wishlist", "timestamp": TS, "doc_id": "a"})

    assert errors[0]["field"] == "type"
    assert "'wishlist' is unknown" in errors[0]["message"]


def test_missing_type_rejected() -> None:
    errors = errors_of({"event_id": "e1", "timestamp": TS, "doc_id": "a"})

    assert errors[0]["field"] == "type"


def test_unknown_field_rejected() -> None:
    errors = errors_of(with_changes("view", referrer="ads"))

    assert errors == [{"field": "referrer", "message": "The field 'referrer' is not part of a view event; remove it."}]


def test_field_of_other_type_rejected() -> None:
    errors = errors_of(with_changes("view", price=2.0))

    assert [error["field"] for error in errors] == ["price"]


def test_non_object_event_rejected() -> None:
    valid, rejected = validate_events(["view", None])

    assert valid == []
    assert [error.index for error in rejected] == [0, 1]
    assert rejected[0].errors[0].message == "The event must be a JSON object."


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (TS, TS),
        (int(TS), TS),
        ("2011-12-09T12:50:00Z", TS),
        ("2011-12-09T12:50:00+00:00", TS),
        ("2011-12-09T13:50:00+01:00", TS),
        ("2011-12-09T12:50:00", TS),  # no offset: UTC
        ("2011-12-09T12:50:00.250Z", TS + 0.25),
    ],
)
def test_timestamp_normalized_to_epoch_seconds(value: Any, expected: float) -> None:
    valid, rejected = validate_events([with_changes("view", timestamp=value)])

    assert rejected == []
    assert valid[0].timestamp == pytest.approx(expected)


@pytest.mark.parametrize(
    "value",
    [
        float("nan"),
        float("inf"),
        -1,
        time.time() + 3 * 86400,
        TS * 1000,  # milliseconds
        "yesterday",
        "2011-13-01T00:00:00",
        True,
        None,
        [TS],
    ],
)
def test_invalid_timestamp_rejected(value: Any) -> None:
    errors = errors_of(with_changes("view", timestamp=value))

    assert [error["field"] for error in errors] == ["timestamp"]


def test_milliseconds_timestamp_hint() -> None:
    errors = errors_of(with_changes("view", timestamp=TS * 1000))

    assert "milliseconds" in errors[0]["message"]


def test_integer_user_id_normalized() -> None:
    valid, _ = validate_events([with_changes("purchase", user_id=17841)])

    assert valid[0].user_id == "17841"


def test_user_id_optional() -> None:
    valid, _ = validate_events([with_changes("purchase", user_id=REMOVE)])

    assert valid[0].user_id is None


def test_add_to_cart_price_optional() -> None:
    valid, rejected = validate_events([with_changes("add_to_cart", price=4.5)])

    assert rejected == []
    assert valid[0].price == 4.5


def test_mixed_batch_keeps_valid_in_order() -> None:
    raw = [VALID_EVENTS["view"], with_changes("click", position=0), VALID_EVENTS["purchase"], 5]

    valid, rejected = validate_events(raw)

    assert [event.event_id for event in valid] == ["e-view", "e-buy"]
    assert [(error.index, error.event_id) for error in rejected] == [(1, "e-click"), (3, None)]
