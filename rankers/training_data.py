"""Query groups for learning to rank, made by replaying the purchase history in time order."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import groupby

import numpy as np
from elasticsearch import Elasticsearch

from rankers.features import build_feature_vectors
from rankers.item_model import ItemModel
from rankers.popularity import popularity_increment
from rankers.profile import UserProfile
from rankers.queries import derive_query
from rankers.retrieval import Candidate, build_search_body, parse_hits
from sample_data.online_retail import Purchase
from settings import Settings

logger = logging.getLogger(__name__)

DAY_S = 86400.0


@dataclass(frozen=True)
class TimeSplit:
    """Purchases before `train_start` only build state; train and test groups come after it."""

    train_start: float
    test_start: float
    end: float

    @classmethod
    def last_days(cls, end: float, train_days: float, test_days: float) -> TimeSplit:
        """Split so the test slice is the last `test_days` and the train slice the days before."""
        test_start = end - test_days * DAY_S
        return cls(train_start=test_start - train_days * DAY_S, test_start=test_start, end=end)

    def to_dict(self) -> dict[str, float]:
        """Describe the split for model metadata."""
        return {"train_start": self.train_start, "test_start": self.test_start, "end": self.end}


@dataclass(frozen=True)
class QueryGroup:
    """One derived search: the candidates retrieval returned, their grades and feature vectors."""

    qid: str
    user_id: str
    query: str
    timestamp: float
    doc_ids: tuple[str, ...]
    grades: np.ndarray
    feature_vectors: np.ndarray

    @property
    def has_relevant(self) -> bool:
        """Whether any purchased item is among the candidates."""
        return bool(self.grades.max(initial=0) > 0)


@dataclass
class ReplayState:
    """Profiles, popularity and the event clock as the consumer would have them at one moment."""

    profiles: dict[str, UserProfile] = field(default_factory=dict)
    popularity: dict[str, float] = field(default_factory=dict)
    clock: float = 0.0

    def apply_purchase(self, purchase: Purchase, settings: Settings) -> None:
        """Apply one purchase exactly as the event consumer does."""
        profile = self.profiles.get(purchase.user_id)
        if profile is None:
            profile = UserProfile(user_id=purchase.user_id)
            self.profiles[purchase.user_id] = profile
        profile.apply(
            "purchase",
            purchase.doc_id,
            purchase.timestamp,
            purchase.price,
            settings.affinity_half_life_days,
            settings.user_max_items,
        )
        self.popularity[purchase.doc_id] = self.popularity.get(purchase.doc_id, 0.0) + (
            popularity_increment(purchase.timestamp, settings.popularity_half_life_days)
        )
        self.clock = max(self.clock, purchase.timestamp)


def iter_invoices(purchases: Sequence[Purchase]) -> Iterator[list[Purchase]]:
    """Yield the purchases of each invoice, in time order (purchases must be sorted by time)."""
    for _, lines in groupby(purchases, key=lambda p: (p.invoice_no, p.user_id)):
        yield list(lines)


def select_queries(
    invoice: Sequence[Purchase], titles: Mapping[str, str], per_invoice: int
) -> list[tuple[str, str]]:
    """Pick up to `per_invoice` (event_id, query) pairs from an invoice, the same way every run.

    Items are ordered by the SHA-1 of their event id, so the choice is fixed but unrelated to
    the order of lines in the invoice. Two items that give the same query make one group.
    """
    ordered = sorted(invoice, key=lambda p: hashlib.sha1(p.event_id.encode()).digest())
    chosen: dict[str, str] = {}
    for purchase in ordered:
        if len(chosen) >= per_invoice:
            break
        query = derive_query(titles.get(purchase.doc_id, ""), purchase.event_id)
        if query is not None and query not in chosen:
            chosen[query] = purchase.event_id

    return [(event_id, query) for query, event_id in chosen.items()]


def retrieve_candidates(
    es: Elasticsearch, alias: str, queries: Sequence[str], window_size: int
) -> dict[str, list[Candidate]]:
    """Run each distinct query once against the index and keep its top `window_size` candidates."""
    candidates: dict[str, list[Candidate]] = {}
    for query in sorted(set(queries)):
        body = build_search_body(query, window_size)
        response = es.search(index=alias, body=body, include_named_queries_score=True)
        candidates[query] = parse_hits(response["hits"]["hits"])
    logger.info("retrieval: %d distinct queries against %s", len(candidates), alias)

    return candidates


def build_groups(
    purchases: Sequence[Purchase],
    titles: Mapping[str, str],
    split: TimeSplit,
    retrieve: Callable[[Sequence[str]], Mapping[str, list[Candidate]]],
    item_model: ItemModel,
    settings: Settings,
    per_invoice: int = 2,
) -> tuple[list[QueryGroup], list[QueryGroup]]:
    """Replay `purchases` and return the train and test query groups.

    Each group is one purchase by a user who had bought before. Its query is derived from the
    purchased product's title, and its candidates are what retrieval returns for that query.
    A candidate's grade is 1 when the user bought it in that invoice and 0 otherwise. Features
    are computed from the state just before the invoice, so the invoice does not leak into them.
    """
    invoices = list(iter_invoices(purchases))

    # Retrieval does not depend on time, so each distinct query runs once up front.
    planned: dict[int, list[tuple[str, str]]] = {}
    for i, invoice in enumerate(invoices):
        if split.train_start <= invoice[0].timestamp < split.end:
            planned[i] = select_queries(invoice, titles, per_invoice)
    candidates_by_query = retrieve([query for pairs in planned.values() for _, query in pairs])

    state = ReplayState()
    train: list[QueryGroup] = []
    test: list[QueryGroup] = []
    for i, invoice in enumerate(invoices):
        first = invoice[0]
        profile = state.profiles.get(first.user_id)
        if i in planned and profile is not None and profile.purchase_count > 0:
            bought = {p.doc_id for p in invoice}
            for event_id, query in planned[i]:
                candidates = candidates_by_query.get(query, [])
                if not candidates:
                    continue
                features = build_feature_vectors(
                    candidates,
                    profile,
                    [state.popularity.get(c.doc_id) for c in candidates],
                    first.timestamp,
                    item_model,
                    settings.popularity_half_life_days,
                )
                group = QueryGroup(
                    qid=event_id,
                    user_id=first.user_id,
                    query=query,
                    timestamp=first.timestamp,
                    doc_ids=tuple(c.doc_id for c in candidates),
                    grades=np.array([1 if c.doc_id in bought else 0 for c in candidates]),
                    feature_vectors=features,
                )
                (test if first.timestamp >= split.test_start else train).append(group)

        for purchase in invoice:
            state.apply_purchase(purchase, settings)

    logger.info(
        "replay: %d invoices, %d train groups, %d test groups, %d users",
        len(invoices), len(train), len(test), len(state.profiles),
    )

    return train, test


def stack_groups(groups: Sequence[QueryGroup]) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """Concatenate groups into LightGBM's feature matrix, labels and group sizes."""
    if not groups:
        return np.zeros((0, 0)), np.zeros(0), []

    features = np.vstack([g.feature_vectors for g in groups])
    grades = np.concatenate([g.grades for g in groups])
    sizes = [len(g.doc_ids) for g in groups]

    return features, grades, sizes

