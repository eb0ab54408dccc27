"""One offline run: fit the item model, replay purchases into query groups, train and evaluate."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from elasticsearch import Elasticsearch

from rankers.item_model import ItemModel
from rankers.train import Experiment, evaluate, train_ranker
from rankers.training_data import TimeSplit, build_groups, retrieve_candidates
from sample_data.online_retail import RetailData
from settings import Settings

logger = logging.getLogger(__name__)

# The test slice is the last four weeks of the data, the train slice the eight weeks before.
TRAIN_DAYS = 56.0
TEST_DAYS = 28.0


def run_experiment(
    es: Elasticsearch,
    retail: RetailData,
    settings: Settings,
    alias: str | None = None,
    train_days: float = TRAIN_DAYS,
    test_days: float = TEST_DAYS,
    per_invoice: int = 2,
) -> Experiment:
    """Train the personalized and the non-personalized rankers and evaluate both on the test slice.

    The item model is fitted only on purchases before the train slice, so neither slice's
    features are computed from the purchases they are labelled with.
    """
    split = TimeSplit.last_days(retail.time_range[1] + 1.0, train_days, test_days)
    titles = {p.doc_id: p.title for p in retail.catalog}

    history = [p for p in retail.purchases if p.timestamp < split.train_start]
    item_model = ItemModel.fit(
        titles, [p.user_id for p in history], [p.doc_id for p in history]
    )

    def retrieve(queries: Sequence[str]):  # type: ignore[no-untyped-def]
        return retrieve_candidates(es, alias or settings.index_alias, queries, settings.window_size)

    train_groups, test_groups = build_groups(
        retail.purchases, titles, split, retrieve, item_model, settings, per_invoice=per_invoice
    )

    personalized, personalized_info = train_ranker(train_groups, personalized=True)
    non_personalized, non_personalized_info = train_ranker(train_groups, personalized=False)
    evaluation = evaluate(test_groups, personalized, non_personalized)
    logger.info("evaluation: %s", evaluation.to_dict())

    return Experiment(
        split=split,
        item_model=item_model,
        personalized=personalized,
        non_personalized=non_personalized,
        training={"personalized": personalized_info, "non_personalized": non_personalized_info},
        evaluation=evaluation,
        train_groups=len(train_groups),
        test_groups=len(test_groups),
        test_groups_with_relevant=sum(g.has_relevant for g in test_groups),
    )
