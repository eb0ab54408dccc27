"""Ranking metrics over query groups: MRR, NDCG@k and Recall@k."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class RankingMetrics:
    """Mean metrics over a set of query groups."""

    queries: int
    mrr: float
    ndcg_at_10: float
    recall_at_10: float

    def to_dict(self) -> dict[str, float]:
        """Describe the metrics for reports and model metadata."""
        return {
            "queries": self.queries,
            "mrr": self.mrr,
            "ndcg@10": self.ndcg_at_10,
            "recall@10": self.recall_at_10,
        }


def order_by_score(scores: np.ndarray) -> np.ndarray:
    """Return candidate indices by descending score; ties keep retrieval order."""
    return np.argsort(-scores, kind="stable")


def reciprocal_rank(grades_in_order: np.ndarray) -> float:
    """Return 1 / position of the first relevant candidate, or 0 when none is relevant."""
    relevant = np.flatnonzero(grades_in_order > 0)

    return 1.0 / (relevant[0] + 1) if relevant.size else 0.0


def ndcg_at(grades_in_order: np.ndarray, k: int) -> float:
    """Return NDCG@k with gains 2^grade - 1; 0 when no candidate is relevant."""
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    gains = 2.0 ** grades_in_order[:k] - 1.0
    ideal = 2.0 ** np.sort(grades_in_order)[::-1][:k] - 1.0
    ideal_dcg = float(ideal @ discounts[: ideal.size])
    if ideal_dcg == 0:
        return 0.0

    return float(gains @ discounts[: gains.size]) / ideal_dcg


def recall_at(grades_in_order: np.ndarray, k: int) -> float:
    """Return the share of relevant candidates that are in the top k; 0 when none is relevant."""
    total = int((grades_in_order > 0).sum())
    if total == 0:
        return 0.0

    return int((grades_in_order[:k] > 0).sum()) / total


def evaluate_rankings(grades: Sequence[np.ndarray], scores: Sequence[np.ndarray]) -> RankingMetrics:
    """Average the metrics over groups, ranking each group's candidates by its scores."""
    if not grades:
        return RankingMetrics(queries=0, mrr=math.nan, ndcg_at_10=math.nan, recall_at_10=math.nan)

    rr, ndcg, recall = [], [], []
    for group_grades, group_scores in zip(grades, scores, strict=True):
        ordered = group_grades[order_by_score(group_scores)]
        rr.append(reciprocal_rank(ordered))
        ndcg.append(ndcg_at(ordered, 10))
        recall.append(recall_at(ordered, 10))

    return RankingMetrics(
        queries=len(grades),
        mrr=float(np.mean(rr)),
        ndcg_at_10=float(np.mean(ndcg)),
        recall_at_10=float(np.mean(recall)),
    )
