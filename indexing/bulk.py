"""Bulk loading of docs with a per-doc failure report."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from elasticsearch import Elasticsearch
from elasticsearch.helpers import streaming_bulk

logger = logging.getLogger(__name__)

# Only 429 (the node's queues are full) is retried: the same request would fail again for
# any other status. Waits are 1, 2, 4, 8, 16 s, so one chunk waits at most 31 s in total.
MAX_RETRIES_ON_429 = 5
INITIAL_BACKOFF_S = 1.0
MAX_BACKOFF_S = 30.0

Progress = Callable[[int], None]


@dataclass(frozen=True)
class DocFailure:
    """A doc that Elasticsearch or the input check rejected, with the reason."""

    doc_id: str
    status: int | None
    reason: str

    def __str__(self) -> str:
        status = f" (HTTP {self.status})" if self.status is not None else ""
        return f"{self.doc_id}{status}: {self.reason}"


@dataclass(frozen=True)
class BulkResult:
    """Outcome of one bulk run: docs given, docs indexed and every failure."""

    # Every doc given, including those that failed the doc_id check and were never sent.
    total: int
    succeeded: int
    failures: tuple[DocFailure, ...]


def bulk_index(
    es: Elasticsearch,
    index: str,
    docs: Iterable[Mapping[str, Any]],
    *,
    chunk_size: int = 500,
    progress: Progress | None = None,
) -> BulkResult:
    """Index docs into `index` with `_id` = doc_id and report every failed doc.

    A doc without a non-empty string `doc_id`, or whose doc_id repeats an earlier doc of
    this call, fails without being sent, because it would get a generated _id or would
    overwrite the earlier doc. `progress` is called with 1 for each doc, failed or not.
    """
    failures: list[DocFailure] = []
    seen_ids: set[str] = set()
    total = 0

    def actions() -> Iterator[dict[str, Any]]:
        nonlocal total
        for position, doc in enumerate(docs):
            total += 1
            doc_id = doc.get("doc_id")
            rejection = _check_doc_id(doc_id, position, seen_ids)
            if rejection is not None:
                failures.append(rejection)
                _report(progress)
                continue

            # _check_doc_id rejected every doc_id that is not a non-empty string.
            seen_ids.add(str(doc_id))
            yield {"_op_type": "index", "_index": index, "_id": doc_id, "_source": dict(doc)}

    succeeded = _run(es, actions(), chunk_size, failures, progress)

    logger.info("Bulk indexed %d of %d doc(s) into %s.", succeeded, total, index)
    if failures:
        logger.warning(
            "%d doc(s) failed to index into %s, first: %s", len(failures), index, failures[0]
        )
    return BulkResult(total=total, succeeded=succeeded, failures=tuple(failures))


def run_bulk_actions(
    es: Elasticsearch,
    actions: Iterable[dict[str, Any]],
    *,
    chunk_size: int = 500,
    refresh: bool = False,
) -> tuple[int, tuple[DocFailure, ...]]:
    """Send bulk actions and return the count of succeeded actions and every failure."""
    failures: list[DocFailure] = []
    succeeded = _run(es, actions, chunk_size, failures, None, refresh=refresh)
    return succeeded, tuple(failures)


def _run(
    es: Elasticsearch,
    actions: Iterable[dict[str, Any]],
    chunk_size: int,
    failures: list[DocFailure],
    progress: Progress | None,
    refresh: bool = False,
) -> int:
    # The transport would retry a rejected request at once and without backoff, so status
    # retries are left to streaming_bulk, which backs off and retries only 429.
    client = es.options(retry_on_status=())

    extra: dict[str, Any] = {"refresh": True} if refresh else {}

    succeeded = 0
    results = streaming_bulk(
        client,
        actions,
        chunk_size=chunk_size,
        raise_on_error=False,
        raise_on_exception=False,
        max_retries=MAX_RETRIES_ON_429,
        initial_backoff=INITIAL_BACKOFF_S,
        max_backoff=MAX_BACKOFF_S,
        retry_on_status=(429,),
        **extra,
    )
    for ok, item in results:
        _report(progress)
        if ok:
            succeeded += 1
            continue

        failure = failure_from_item(item)
        logger.debug("Bulk action failed for doc %s: %s", failure.doc_id, failure.reason)
        failures.append(failure)

    return succeeded


def failure_from_item(item: Mapping[str, Any]) -> DocFailure:
    """Return the DocFailure of a failed bulk item, `{action: {"_id": ..., "error": ...}}`."""
    _action, info = next(iter(item.items()))
    doc_id = str(info.get("_id", ""))
    status = info.get("status")
    return DocFailure(doc_id=doc_id, status=status, reason=_reason(info.get("error")))


def _reason(error: Any) -> str:
    # A rejected item has a structured error. A request that failed as a whole is turned by
    # streaming_bulk into one item per doc whose error is the exception text.
    if not isinstance(error, Mapping):
        return str(error)

    reason = f"{error.get('type', 'error')}: {error.get('reason', '')}"
    cause = error.get("caused_by")
    if isinstance(cause, Mapping):
        reason += f" (caused by {cause.get('type', 'error')}: {cause.get('reason', '')})"
    return reason


def _check_doc_id(doc_id: Any, position: int, seen_ids: set[str]) -> DocFailure | None:
    if doc_id is None:
        return DocFailure(doc_id="<missing>", status=None, reason=f"doc #{position} has no doc_id")

    if not isinstance(doc_id, str) or not doc_id:
        return DocFailure(
            doc_id=repr(doc_id),
            status=None,
            reason=f"doc #{position} has a doc_id that is not a non-empty string",
        )

    if doc_id in seen_ids:
        return DocFailure(
            doc_id=doc_id,
            status=None,
            reason=f"doc #{position} repeats the doc_id of an earlier doc, so it was not sent",
        )

    return None


def _report(progress: Progress | None) -> None:
    if progress is not None:
        progress(1)
