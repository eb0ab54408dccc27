"""Partial updates of fields in docs that are already indexed."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from elasticsearch import Elasticsearch

from indexing.bulk import DocFailure, run_bulk_actions

logger = logging.getLogger(__name__)

# Item statistics may be written by several workers at once, and a version conflict
# between two partial updates of one doc is resolved by rereading the doc.
RETRY_ON_CONFLICT = 3


@dataclass(frozen=True)
class UpdateResult:
    """Outcome of update_fields: docs updated and every failure, such as a missing doc."""

    updated: int
    failures: tuple[DocFailure, ...]


def update_fields(
    es: Elasticsearch,
    alias: str,
    updates: Mapping[str, Mapping[str, Any]],
    *,
    chunk_size: int = 500,
    refresh: bool = False,
) -> UpdateResult:
    """Set fields of existing docs, given as {doc_id: {field: value}}, with bulk `update` actions.

    A doc that does not exist is not created but reported as a failure
    (document_missing_exception), and so is a field the strict mapping does not contain.
    `refresh=True` makes the new values searchable before the call returns.
    """
    for doc_id, fields in updates.items():
        if "doc_id" in fields:
            raise ValueError(
                f"The update of doc '{doc_id}' sets doc_id, which must stay equal to the _id. "
                "Index the doc again under its new doc_id instead."
            )

    actions = (
        {
            "_op_type": "update",
            "_index": alias,
            "_id": doc_id,
            "doc": dict(fields),
            "retry_on_conflict": RETRY_ON_CONFLICT,
        }
        for doc_id, fields in updates.items()
    )
    updated, failures = run_bulk_actions(es, actions, chunk_size=chunk_size, refresh=refresh)

    if failures:
        logger.warning(
            "Updating fields failed for %d of %d doc(s) in %s, first: %s",
            len(failures),
            len(updates),
            alias,
            failures[0],
        )
    return UpdateResult(updated=updated, failures=failures)
