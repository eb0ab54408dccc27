"""Names of versioned catalog indices and the list of an alias's versions."""

from __future__ import annotations

import logging
import re
import secrets
import string
from dataclasses import dataclass
from datetime import UTC, datetime

from elasticsearch import Elasticsearch, NotFoundError

logger = logging.getLogger(__name__)

TIMESTAMP_FORMAT = "%Y%m%d%H%M%S"

# Two builds started in the same second get different names through this random suffix.
SUFFIX_LENGTH = 6
_SUFFIX_ALPHABET = string.ascii_lowercase + string.digits


@dataclass(frozen=True)
class IndexVersion:
    """One index of an alias: its doc count, creation time and whether the alias points to it."""

    index: str
    doc_count: int
    created_at: datetime
    live: bool


def new_index_name(alias: str, now: datetime | None = None) -> str:
    """Return a new version name, `<alias>-<UTC YYYYmmddHHMMSS>-<random suffix>`."""
    moment = now if now is not None else datetime.now(UTC)
    timestamp = moment.astimezone(UTC).strftime(TIMESTAMP_FORMAT)
    suffix = "".join(secrets.choice(_SUFFIX_ALPHABET) for _ in range(SUFFIX_LENGTH))
    return f"{alias}-{timestamp}-{suffix}"


def is_version_of(alias: str, index: str) -> bool:
    """Return whether `index` has the name of a version built for `alias`."""
    pattern = rf"{re.escape(alias)}-\d{{14}}-[a-z0-9]{{{SUFFIX_LENGTH}}}"
    return re.fullmatch(pattern, index) is not None


def live_indices(es: Elasticsearch, alias: str) -> tuple[str, ...]:
    """Return the sorted names of the indices that `alias` points to, empty if it does not exist."""
    try:
        response = es.indices.get_alias(name=alias)
    except NotFoundError:
        return ()
    return tuple(sorted(response.body))


def list_versions(es: Elasticsearch, alias: str) -> list[IndexVersion]:
    """List the versions of `alias` and any other index it points to, newest first."""
    live = set(live_indices(es, alias))

    # allow_no_indices (true by default) makes a pattern that matches nothing return {}.
    settings = es.indices.get_settings(
        index=[f"{alias}-*", *live], name="index.creation_date", expand_wildcards="open"
    )
    names = sorted(name for name in settings.body if name in live or is_version_of(alias, name))
    if not names:
        return []

    stats = es.indices.stats(index=names, metric="docs")

    versions = []
    for name in names:
        created_ms = int(settings.body[name]["settings"]["index"]["creation_date"])
        doc_count = stats.body["indices"][name]["primaries"]["docs"]["count"]
        versions.append(
            IndexVersion(
                index=name,
                doc_count=doc_count,
                created_at=datetime.fromtimestamp(created_ms / 1000, UTC),
                live=name in live,
            )
        )

    versions.sort(key=lambda version: (version.created_at, version.index), reverse=True)
    return versions
