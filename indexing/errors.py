"""Exceptions raised by the catalog indexing package."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from indexing.bulk import DocFailure


class IndexingError(Exception):
    """Base class of every error that the indexing package raises on purpose."""


class AnalyzerNotAvailableError(IndexingError):
    """The configured title analyzer does not exist on the cluster."""

    def __init__(self, analyzer: str, index: str) -> None:
        self.analyzer = analyzer
        self.index = index
        super().__init__(
            f"Creating index '{index}' failed because analyzer '{analyzer}' is not available "
            "on this cluster. Language analyzers such as 'english' come from the "
            "analysis-common module. Set TAILOR_TITLE_ANALYZER to a built-in analyzer "
            "(standard, simple, whitespace, stop or keyword), or install the module or plugin "
            f"that provides '{analyzer}'."
        )


class AliasIsIndexError(IndexingError):
    """The alias name is taken by a concrete index, so no alias can be created with it."""

    def __init__(self, alias: str) -> None:
        self.alias = alias
        super().__init__(
            f"'{alias}' is a concrete index, not an alias, so the catalog alias cannot point to "
            f"a new version. Reindex or delete index '{alias}', or set TAILOR_INDEX_ALIAS to "
            "another name."
        )


class AliasChangedError(IndexingError):
    """The alias or one of its indices changed between reading the alias and swapping it."""

    def __init__(self, alias: str, expected: tuple[str, ...], new_index: str, reason: str) -> None:
        self.alias = alias
        self.expected = expected
        self.new_index = new_index
        super().__init__(
            f"Swapping alias '{alias}' from {_names(expected)} to '{new_index}' failed because "
            "the alias no longer points there or one of the indices was deleted, so another "
            f"build or rollback probably ran at the same time ({reason}). Check "
            "`python -m indexing versions` and retry."
        )


class BuildAbortedError(IndexingError):
    """A build whose doc failures exceed the allowed maximum: the alias was not swapped."""

    def __init__(
        self,
        index: str,
        alias: str,
        failures: tuple[DocFailure, ...],
        max_failures: int,
        live_indices: tuple[str, ...],
    ) -> None:
        self.index = index
        self.alias = alias
        self.failures = failures
        self.max_failures = max_failures
        self.live_indices = live_indices
        super().__init__(
            f"{len(failures)} document(s) failed, more than the allowed maximum of "
            f"{max_failures}, so index '{index}' was deleted and alias '{alias}' still points to "
            f"{_names(live_indices)}. Fix the failed documents, or allow more failures "
            "with --max-failures."
        )


class DocCountMismatchError(IndexingError):
    """The new index does not contain as many docs as were sent and accepted."""

    def __init__(self, index: str, expected: int, actual: int) -> None:
        self.index = index
        self.expected = expected
        self.actual = actual
        super().__init__(
            f"Index '{index}' contains {actual} doc(s) after the refresh, but {expected} were "
            "sent without error, so the index was deleted and the alias was not swapped. "
            "Check the cluster logs and rerun the build."
        )


class NoPreviousVersionError(IndexingError):
    """Rollback found no version older than the live index."""

    def __init__(self, alias: str, live_index: str) -> None:
        self.alias = alias
        self.live_index = live_index
        super().__init__(
            f"Alias '{alias}' cannot be rolled back because no version older than the live "
            f"index '{live_index}' exists. Run `python -m indexing versions` to see the indices."
        )


class AliasStateError(IndexingError):
    """The alias is missing or points to several indices where exactly one is expected."""


def _names(indices: tuple[str, ...]) -> str:
    if not indices:
        return "no index"
    return ", ".join(f"'{index}'" for index in indices)
