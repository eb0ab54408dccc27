"""Tests of the ranking metrics on hand-computed examples."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rankers.metrics import evaluate_rankings, ndcg_at, order_by_score, recall_at, reciprocal_rank


def test_reciprocal_rank_third_position() -> None:
    assert reciprocal_rank(np.array([0, 0, 1, 0, 1])) == pytest.approx(1 / 3)


def test_reciprocal_rank_first_position() -> None:
    assert reciprocal_rank(np.array([1, 0, 0])) == 1.0


def test_reciprocal_rank_no_relevant() -> None:
    assert reciprocal_rank(np.array([0, 0, 0])) == 0.0


def test_ndcg_single_relevant_third() -> None:
    # DCG = 1 / log2(4) and the ideal DCG = 1 / log2(2) = 1.
    assert ndcg_at(np.array([0, 0, 1, 0]), 10) == pytest.approx(1 / math.log2(4))


def test_ndcg_graded_relevance() -> None:
    grades = np.array([0, 2, 1])

    dcg = (2**2 - 1) / math.log2(3) + (2**1 - 1) / math.log2(4)
    ideal = (2**2 - 1) / math.log2(2) + (2**1 - 1) / math.log2(3)
    assert ndcg_at(grades, 10) == pytest.approx(dcg / ideal)


def test_ndcg_ideal_order_is_one() -> None:
    assert ndcg_at(np.array([2, 1, 0, 0]), 10) == pytest.approx(1.0)


def test_ndcg_ignores_relevant_past_k() -> None:
    grades = np.zeros(12)
    grades[10] = 1

    assert ndcg_at(grades, 10) == 0.0


def test_ndcg_no_relevant() -> None:
    assert ndcg_at(np.array([0, 0, 0]), 10) == 0.0


def test_recall_half_in_top_ten() -> None:
    grades = np.zeros(12)
    grades[4] = 1
    grades[11] = 1

    assert recall_at(grades, 10) == 0.5


def test_recall_no_relevant() -> None:
    assert recall_at(np.zeros(5), 10) == 0.0


def test_order_ties_keep_retrieval_order() -> None:
    scores = np.array([0.5, 1.0, 0.5, 1.0, 0.5])

    assert order_by_score(scores).tolist() == [1, 3, 0, 2, 4]


def test_evaluate_ties_keep_retrieval_order() -> None:
    grades = [np.array([0, 0, 1, 0])]
    scores = [np.array([1.0, 1.0, 1.0, 1.0])]

    metrics = evaluate_rankings(grades, scores)

    assert metrics.mrr == pytest.approx(1 / 3)
    assert metrics.ndcg_at_10 == pytest.approx(1 / math.log2(4))
    assert metrics.recall_at_10 == 1.0


def test_evaluate_reorders_by_score() -> None:
    grades = [np.array([0, 0, 1, 0])]
    scores = [np.array([0.1, 0.2, 0.9, 0.3])]

    metrics = evaluate_rankings(grades, scores)

    assert metrics.mrr == 1.0
    assert metrics.ndcg_at_10 == pytest.approx(1.0)


def test_evaluate_averages_groups() -> None:
    # Group 1: relevant at position 3. Group 2: relevant at position 1. Group 3: none relevant.
    grades = [np.array([0, 0, 1]), np.array([1, 0]), np.array([0, 0])]
    scores = [np.array([3.0, 2.0, 1.0]), np.array([2.0, 1.0]), np.array([1.0, 2.0])]

    metrics = evaluate_rankings(grades, scores)

    assert metrics.queries == 3
    assert metrics.mrr == pytest.approx((1 / 3 + 1 + 0) / 3)
    assert metrics.ndcg_at_10 == pytest.approx((1 / math.log2(4) + 1 + 0) / 3)
    assert metrics.recall_at_10 == pytest.approx((1 + 1 + 0) / 3)


def test_evaluate_no_groups_is_nan() -> None:
    metrics = evaluate_rankings([], [])

    assert metrics.queries == 0
    assert math.isnan(metrics.mrr)
    assert math.isnan(metrics.ndcg_at_10)
    assert math.isnan(metrics.recall_at_10)


def test_metrics_to_dict_keys() -> None:
    metrics = evaluate_rankings([np.array([1, 0])], [np.array([1.0, 0.0])])

    assert metrics.to_dict() == {"queries": 1, "mrr": 1.0, "ndcg@10": 1.0, "recall@10": 1.0}
