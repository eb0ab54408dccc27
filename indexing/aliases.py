"""Atomic moves of the catalog alias: swap to a new version and roll back."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from elasticsearch import Elasticsearch, NotFoundError

from indexing.errors import (
    AliasChangedError,
    AliasIsIndexError,
    AliasStateError,
    NoPreviousVersionError,
)
from indexing.versions import list_versions

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RollbackResult:
    """The index the alias pointed to before a rollback and the one it points to now."""

    alias: str
    from_index: str
    to_index: str


def check_alias_name(es: Elasticsearch, alias: str) -> None:
    """Raise AliasIsIndexError when a concrete index has the alias's name."""
    # indices.exists is also true for an alias, so only "exists but is no alias" is an index.
    if es.indices.exists(index=alias) and not es.indices.exists_alias(name=alias):
        raise AliasIsIndexError(alias)


def swap_alias(es: Elasticsearch, alias: str, new_index: str, old_indices: tuple[str, ...]) -> None:
    """Point `alias` from `old_indices` to `new_index` in one atomic `_aliases` request.

    Raises AliasChangedError, and changes nothing, when the alias no longer points to every
    index of `old_indices` or one of the indices was deleted, because another build or
    rollback ran in between.
    """
    actions: list[dict] = [
        # must_exist makes the whole request fail when someone else moved the alias.
        {"remove": {"index": old_index, "alias": alias, "must_exist": True}}
        for old_index in old_indices
    ]
    actions.append({"add": {"index": new_index, "alias": alias}})

    try:
        es.indices.update_aliases(actions=actions)
    except NotFoundError as error:
        raise AliasChangedError(alias, old_indices, new_index, str(error)) from error

    logger.info(
        "Alias %s now points to %s instead of %s.",
        alias,
        new_index,
        ", ".join(old_indices) or "no index",
    )


def rollback(es: Elasticsearch, alias: str) -> RollbackResult:
    """Point `alias` back to the newest version created before the live index, atomically."""
    check_alias_name(es, alias)

    versions = list_versions(es, alias)
    live = [version for version in versions if version.live]
    if len(live) != 1:
        names = ", ".join(version.index for version in live) or "no index"
        raise AliasStateError(
            f"Alias '{alias}' cannot be rolled back because it points to {names} instead of "
            "exactly one index. Point it to one index, or run a build."
        )

    current = live[0]
    older = [
        version
        for version in versions
        if not version.live
        and (version.created_at, version.index) < (current.created_at, current.index)
    ]
    if not older:
        raise NoPreviousVersionError(alias, current.index)

    # versions are sorted newest first, so older[0] is the version built just before.
    target = older[0]
    swap_alias(es, alias, target.index, (current.index,))

    logger.info("Rolled alias %s back from %s to %s.", alias, current.index, target.index)
    return RollbackResult(alias=alias, from_index=current.index, to_index=target.index)
