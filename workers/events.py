"""Storefront behaviour events: the pydantic schema and validation of a raw batch."""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
)

logger = logging.getLogger(__name__)

EVENT_TYPES = ("impression", "click", "add_to_cart", "purchase", "view")

MAX_ID_LENGTH = 128
MAX_QUERY_LENGTH = 1000
# One impression lists at most one rerank window (Settings.window_size is capped at 1000).
MAX_IMPRESSION_DOCS = 1000
MAX_POSITION = 100_000
MAX_QUANTITY = 1_000_000
# Storefront clocks drift, so an event may be this far (seconds) ahead of the server clock.
MAX_CLOCK_SKEW_S = 24 * 3600.0


# The validators raise ValueError even for wrong types. Pydantic turns only ValueError and
# AssertionError into validation errors, so a TypeError would escape as a server error.


def _parse_timestamp(value: Any) -> float:
    """Normalize epoch seconds or an ISO 8601 string to finite epoch seconds (UTC)."""
    if isinstance(value, bool):
        raise ValueError("The timestamp must be epoch seconds or an ISO 8601 string, not a boolean")  # noqa: TRY004

    if isinstance(value, (int, float)):
        seconds = float(value)
    elif isinstance(value, str):
        seconds = _parse_iso_timestamp(value)
    else:
        raise ValueError("The timestamp must be epoch seconds (a number) or an ISO 8601 string")  # noqa: TRY004

    if not math.isfinite(seconds):
        raise ValueError(f"The timestamp {value!r} is not a finite number")
    if seconds < 0:
        raise ValueError(f"The timestamp {value!r} is before 1970-01-01 UTC; send epoch seconds")
    if seconds > time.time() + MAX_CLOCK_SKEW_S:
        hint = " (it looks like milliseconds; send seconds)" if seconds > 1e11 else ""
        raise ValueError(f"The timestamp {value!r} is more than one day in the future{hint}")

    return seconds


def _parse_iso_timestamp(text: str) -> float:
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"The timestamp {text!r} is not an ISO 8601 date-time; send e.g. 2011-12-09T12:50:00Z or epoch seconds"
        ) from None

    # A time without an offset is taken as UTC, the only zone the API can assume.
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)

    return parsed.timestamp()


def _normalize_user_id(value: Any) -> Any:
    """Turn an integer customer id such as 17841 into its decimal string; leave other values to the schema."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        raise ValueError(f"The user_id {value!r} must be a string or an integer customer id, not a decimal number")  # noqa: TRY004

    return value


Identifier = Annotated[str, Field(min_length=1, max_length=MAX_ID_LENGTH)]
Timestamp = Annotated[float, BeforeValidator(_parse_timestamp)]
UserId = Annotated[Identifier | None, BeforeValidator(_normalize_user_id)]
Price = Annotated[float, Field(gt=0, allow_inf_nan=False)]


class _EventBase(BaseModel):
    """Fields every event carries; `timestamp` is epoch seconds (UTC) after validation."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    event_id: Identifier
    timestamp: Timestamp
    user_id: UserId = None


class ImpressionEvent(_EventBase):
    """A result page shown to the user, `doc_ids` in the order shown."""

    type: Literal["impression"]
    search_id: Identifier
    query: Annotated[str, Field(max_length=MAX_QUERY_LENGTH)]
    doc_ids: Annotated[list[Identifier], Field(min_length=1, max_length=MAX_IMPRESSION_DOCS)]


class ClickEvent(_EventBase):
    """A click on a search result; `position` is 1-based, as shown to the user (1 = first result)."""

    type: Literal["click"]
    search_id: Identifier
    doc_id: Identifier
    position: Annotated[int, Field(ge=1, le=MAX_POSITION)]


class AddToCartEvent(_EventBase):
    """An item put into the cart; the optional unit `price` feeds the user's price affinity."""

    type: Literal["add_to_cart"]
    doc_id: Identifier
    price: Price | None = None


class ViewEvent(_EventBase):
    """A product page view."""

    type: Literal["view"]
    doc_id: Identifier


class PurchaseEvent(_EventBase):
    """One order line: `price` is the unit price, `quantity` the number of units."""

    type: Literal["purchase"]
    doc_id: Identifier
    quantity: Annotated[int, Field(ge=1, le=MAX_QUANTITY)]
    price: Price


Event = Annotated[
    ImpressionEvent | ClickEvent | AddToCartEvent | ViewEvent | PurchaseEvent,
    Field(discriminator="type"),
]

EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)


@dataclass(frozen=True)
class FieldError:
    """One invalid field of an event; `field` is a dotted path such as `doc_ids.3`, or None for the event itself."""

    field: str | None
    message: str

    def to_dict(self) -> dict[str, str | None]:
        """Return the JSON form used in API responses."""
        return {"field": self.field, "message": self.message}


@dataclass(frozen=True)
class EventError:
    """The rejection of the event at `index` of a batch, with one error per invalid field."""

    index: int
    event_id: str | None
    errors: tuple[FieldError, ...]

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form used in API responses."""
        return {
            "index": self.index,
            "event_id": self.event_id,
            "errors": [error.to_dict() for error in self.errors],
        }


def parse_event(raw: Any) -> Event:
    """Validate one event given as a Python object; raise pydantic's ValidationError when invalid."""
    return EVENT_ADAPTER.validate_python(raw)


def parse_event_json(raw: str | bytes) -> Event:
    """Validate one event serialized with `event_to_json`."""
    return EVENT_ADAPTER.validate_json(raw)


def event_to_json(event: Event) -> str:
    """Serialize a validated event, with its normalized timestamp and user id."""
    return event.model_dump_json(exclude_none=True)


def validate_events(raw_events: list[Any]) -> tuple[list[Event], list[EventError]]:
    """Validate each item of a raw batch, returning the valid events in order and one error per invalid item."""
    valid: list[Event] = []
    rejected: list[EventError] = []

    for index, raw in enumerate(raw_events):
        try:
            valid.append(parse_event(raw))
        except ValidationError as exc:
            rejected.append(EventError(index=index, event_id=_raw_event_id(raw), errors=_field_errors(raw, exc)))

    return valid, rejected


def _raw_event_id(raw: Any) -> str | None:
    if isinstance(raw, dict) and isinstance(raw.get("event_id"), str):
        return raw["event_id"][:MAX_ID_LENGTH]

    return None


def _field_errors(raw: Any, exc: ValidationError) -> tuple[FieldError, ...]:
    """Turn pydantic's errors into field paths without the union tag and into full-sentence messages."""
    event_type = raw.get("type") if isinstance(raw, dict) else None
    errors = []

    for error in exc.errors(include_url=False):
        loc = list(error["loc"])
        # The discriminated union prefixes every location with the matched tag, e.g. ("click", "position").
        if loc and loc[0] == event_type:
            loc = loc[1:]
        field = ".".join(str(part) for part in loc) or None
        if error["type"] in ("union_tag_not_found", "union_tag_invalid"):
            field = "type"
        errors.append(FieldError(field=field, message=_message(error, field, event_type)))

    return tuple(errors)


def _message(error: Any, field: str | None, event_type: Any) -> str:
    kind = error["type"]

    if kind == "model_attributes_type":
        return "The event must be a JSON object."
    if kind == "union_tag_not_found":
        return f"The field 'type' is missing; use one of: {', '.join(EVENT_TYPES)}."
    if kind == "union_tag_invalid":
        return f"The event type {event_type!r} is unknown; use one of: {', '.join(EVENT_TYPES)}."
    if kind == "missing":
        return f"The field '{field}' is required for a {event_type} event."
    if kind == "extra_forbidden":
        return f"The field '{field}' is not part of a {event_type} event; remove it."
    if kind == "value_error":
        # Messages raised by this module's validators are already specific.
        return f"{error['ctx']['error']}."

    return f"The field '{field}' is invalid: {error['msg']}."
