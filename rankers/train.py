"""Train LightGBM LambdaMART rankers on replayed purchases and evaluate them against retrieval."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import lightgbm as lgb
import numpy as np

from rankers.features import without_user_features
from rankers.item_model import ItemModel
from rankers.metrics import RankingMetrics, evaluate_rankings
from rankers.schema import SCHEMA
from rankers.training_data import QueryGroup, TimeSplit, stack_groups

logger = logging.getLogger(__name__)

# Fixed seeds with `deterministic` make training repeatable for the same data and thread count.
# force_col_wise matters too: left to itself, LightGBM times row-wise against column-wise histogram
# building at start and takes the faster, so a busy machine could train a different model.
LAMBDARANK_PARAMS: dict[str, Any] = {
    "force_col_wise": True,
    "objective": "lambdarank",
    "metric": "ndcg",
    "eval_at": [10],
    "learning_rate": 0.05,
    "num_leaves": 31,
    "min_data_in_leaf": 50,
    "feature_fraction": 0.9,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambdarank_truncation_level": 20,
    "seed": 7,
    "deterministic": True,
    "num_threads": 2,
    "verbosity": -1,
}
MAX_BOOST_ROUNDS = 600
EARLY_STOPPING_ROUNDS = 50
# The newest share of the train slice, by time, is held out for early stopping.
VALIDATION_SHARE = 0.2


@dataclass(frozen=True)
class Evaluation:
    """Metrics of retrieval order and both models on the test slice."""

    retrieval: RankingMetrics
    non_personalized: RankingMetrics
    personalized: RankingMetrics
    wins: int
    losses: int
    ties: int

    def to_dict(self) -> dict[str, Any]:
        """Describe the evaluation for reports and model metadata."""
        return {
            "retrieval_order": self.retrieval.to_dict(),
            "model_without_user_features": self.non_personalized.to_dict(),
            "personalized_model": self.personalized.to_dict(),
            "personalized_vs_retrieval_per_query": {
                "wins": self.wins, "losses": self.losses, "ties": self.ties,
            },
        }


def train_ranker(groups: Sequence[QueryGroup], personalized: bool) -> tuple[lgb.Booster, dict[str, Any]]:
    """Train a lambdarank booster with time-based early stopping on groups with a relevant candidate.

    With `personalized` False every user feature is missing, which gives the non-personalized
    baseline on the same schema.
    """
    usable = sorted((g for g in groups if g.has_relevant), key=lambda g: g.timestamp)
    if len(usable) < 20:
        raise ValueError(
            f"Training needs at least 20 query groups with a purchased candidate; got {len(usable)}. "
            "Widen the train slice or check that the catalog index is loaded."
        )

    cut = int(len(usable) * (1 - VALIDATION_SHARE))
    train_groups, valid_groups = usable[:cut], usable[cut:]
    datasets = []
    for part in (train_groups, valid_groups):
        features, grades, sizes = stack_groups(part)
        if not personalized:
            features = without_user_features(features)
        datasets.append((features, grades, sizes))

    (x_train, y_train, g_train), (x_valid, y_valid, g_valid) = datasets
    train_set = lgb.Dataset(x_train, y_train, group=g_train, feature_name=list(SCHEMA.names))
    valid_set = lgb.Dataset(x_valid, y_valid, group=g_valid, reference=train_set)

    started = time.perf_counter()
    booster = lgb.train(
        LAMBDARANK_PARAMS,
        train_set,
        num_boost_round=MAX_BOOST_ROUNDS,
        valid_sets=[valid_set],
        valid_names=["validation"],
        callbacks=[lgb.early_stopping(EARLY_STOPPING_ROUNDS, verbose=False)],
    )
    elapsed = time.perf_counter() - started
    logger.info(
        "ranker (personalized=%s): %d train and %d validation groups, best iteration %d, %.1f s",
        personalized, len(train_groups), len(valid_groups), booster.best_iteration, elapsed,
    )

    info = {
        "personalized": personalized,
        "train_groups": len(train_groups),
        "validation_groups": len(valid_groups),
        "best_iteration": booster.best_iteration,
        "validation_ndcg@10": booster.best_score["validation"]["ndcg@10"],
        "params": LAMBDARANK_PARAMS,
        "train_seconds": round(elapsed, 2),
    }

    return booster, info


def score_groups(booster: lgb.Booster, groups: Sequence[QueryGroup], personalized: bool) -> list[np.ndarray]:
    """Score every group's candidates with `booster`."""
    scores = []
    for group in groups:
        features = group.feature_vectors if personalized else without_user_features(group.feature_vectors)
        scores.append(np.asarray(booster.predict(features, num_threads=1)))

    return scores


def evaluate(
    groups: Sequence[QueryGroup], personalized: lgb.Booster, non_personalized: lgb.Booster
) -> Evaluation:
    """Compare retrieval order and both models on the same test groups."""
    grades = [g.grades for g in groups]
    retrieval_scores = [-g.feature_vectors[:, SCHEMA.index("retrieval_rank")] for g in groups]
    personalized_scores = score_groups(personalized, groups, personalized=True)
    non_personalized_scores = score_groups(non_personalized, groups, personalized=False)

    # Wins and losses per query, by NDCG@10 of the personalized model against retrieval order.
    wins = losses = ties = 0
    for g, ours, theirs in zip(grades, personalized_scores, retrieval_scores, strict=True):
        ours_ndcg = evaluate_rankings([g], [ours]).ndcg_at_10
        theirs_ndcg = evaluate_rankings([g], [theirs]).ndcg_at_10
        if ours_ndcg > theirs_ndcg + 1e-12:
            wins += 1
        elif theirs_ndcg > ours_ndcg + 1e-12:
            losses += 1
        else:
            ties += 1

    return Evaluation(
        retrieval=evaluate_rankings(grades, retrieval_scores),
        non_personalized=evaluate_rankings(grades, non_personalized_scores),
        personalized=evaluate_rankings(grades, personalized_scores),
        wins=wins,
        losses=losses,
        ties=ties,
    )


def feature_importance(booster: lgb.Booster) -> dict[str, float]:
    """Return each feature's total gain, largest first."""
    gains = booster.feature_importance(importance_type="gain")
    pairs = sorted(zip(SCHEMA.names, gains, strict=True), key=lambda pair: -pair[1])

    return {name: round(float(gain), 3) for name, gain in pairs}


@dataclass(frozen=True)
class Experiment:
    """Everything one training run produced."""

    split: TimeSplit
    item_model: ItemModel
    personalized: lgb.Booster
    non_personalized: lgb.Booster
    training: dict[str, Any]
    evaluation: Evaluation
    train_groups: int
    test_groups: int
    test_groups_with_relevant: int
