"""Historical import: replays past purchases through the same validation and stream as live events."""

from __future__ import annotations

import dataclasses
import itertools
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import redis as redis_lib

from settings import Settings
from workers.events import EventError, validate_events
from workers.jobs import schedule_consume
from workers.stream import append_events

logger = logging.getLogger(__name__)

# Rejections kept in the report as examples; the rest are only counted.
MAX_REPORTED_REJECTIONS = 20


class PurchaseLike(Protocol):
    """The fields of `sample_data.online_retail.Purchase` that become a purchase event."""

    @property
    def event_id(self) -> str: ...
    @property
    def user_id(self) -> str: ...
    @property
    def doc_id(self) -> str: ...
    @property
    def quantity(self) -> int: ...
    @property
    def price(self) -> float: ...
    @property
    def timestamp(self) -> float: ...


@dataclass(frozen=True)
class ImportReport:
    """Counts of one import: events appended to the stream, rejected by validation, and jobs enqueued."""

    appended: int
    rejected: int
    jobs_enqueued: int
    rejection_examples: tuple[EventError, ...]


def purchase_to_event(purchase: PurchaseLike) -> dict[str, Any]:
    """Build the raw purchase event a storefront would have sent for one historical order line."""
    return {
        "event_id": purchase.event_id,
        "type": "purchase",
        "user_id": purchase.user_id,
        "doc_id": purchase.doc_id,
        "quantity": purchase.quantity,
        "price": purchase.price,
        "timestamp": purchase.timestamp,
    }


def select_purchases(
    purchases: Iterable[PurchaseLike],
    until: float | None = None,
    limit: int | None = None,
) -> Iterator[PurchaseLike]:
    """Yield purchases strictly before `until` (epoch seconds), at most `limit` of them, in input order."""
    selected: Iterable[PurchaseLike] = purchases
    if until is not None:
        selected = (purchase for purchase in selected if purchase.timestamp < until)
    if limit is not None:
        selected = itertools.islice(selected, limit)

    return iter(selected)


def import_purchases(
    redis: redis_lib.Redis,
    settings: Settings,
    purchases: Iterable[PurchaseLike],
    batch_size: int,
    on_batch: Callable[[int], None] | None = None,
) -> ImportReport:
    """Validate and append purchases as events in batches, scheduling a consume job after each batch.

    Features are not written here: the consumer builds them from the stream exactly as for live events.
    `on_batch` is called with the number of purchases handled in each batch, e.g. to advance a progress bar.
    """
    appended = rejected = jobs_enqueued = handled = 0
    examples: list[EventError] = []
    iterator = iter(purchases)

    # Each pass takes up to batch_size purchases, so the loop ends when the input is exhausted.
    while batch := list(itertools.islice(iterator, batch_size)):
        valid, errors = validate_events([purchase_to_event(purchase) for purchase in batch])
        append_events(redis, valid, settings)
        appended += len(valid)
        rejected += len(errors)
        # Error indexes count from the start of the import, not of the batch.
        examples.extend(
            dataclasses.replace(error, index=handled + error.index)
            for error in errors[: MAX_REPORTED_REJECTIONS - len(examples)]
        )
        handled += len(batch)

        if schedule_consume(redis, settings) is not None:
            jobs_enqueued += 1
        if on_batch is not None:
            on_batch(len(batch))

    report = ImportReport(
        appended=appended,
        rejected=rejected,
        jobs_enqueued=jobs_enqueued,
        rejection_examples=tuple(examples),
    )
    logger.info(
        "Import into stream %s finished: %d events appended, %d rejected, %d consume jobs enqueued",
        settings.stream_key,
        appended,
        rejected,
        jobs_enqueued,
    )

    return report
