"""The evaluation report written to docs/evaluation.md."""

from __future__ import annotations

import datetime as dt
import platform
from pathlib import Path

from rankers.train import Experiment, feature_importance
from sample_data.online_retail import RetailData


def format_time(timestamp: float) -> str:
    """Format epoch seconds as a UTC date and time."""
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def metrics_table(experiment: Experiment) -> str:
    """Render the three rankings' metrics as a Markdown table."""
    rows = [
        ("(a) Elasticsearch order", experiment.evaluation.retrieval),
        ("(b) model without user features", experiment.evaluation.non_personalized),
        ("(c) personalized model", experiment.evaluation.personalized),
    ]
    lines = ["| ranking | queries | MRR | NDCG@10 | Recall@10 |", "|---|---:|---:|---:|---:|"]
    for name, m in rows:
        lines.append(f"| {name} | {m.queries} | {m.mrr:.4f} | {m.ndcg_at_10:.4f} | {m.recall_at_10:.4f} |")

    return "\n".join(lines)


def write_report(
    experiment: Experiment, retail: RetailData, path: Path, command: str, window_size: int
) -> str:
    """Write the Markdown evaluation report to `path` and return its text."""
    split = experiment.split
    evaluation = experiment.evaluation
    importance = feature_importance(experiment.personalized)
    importance_lines = "\n".join(f"| {name} | {gain:,.1f} |" for name, gain in importance.items())

    text = f"""# Offline evaluation

Written by `{command}` on {dt.datetime.now(dt.UTC).strftime("%Y-%m-%d")}
({platform.machine()}, Python {platform.python_version()}).

## Data and method

- Data: UCI Online Retail: {len(retail.purchases):,} purchase lines of {retail.report.users:,} known customers
  and {len(retail.catalog):,} products, from {format_time(retail.time_range[0])} to {format_time(retail.time_range[1])}.
- Time split: purchases before {format_time(split.train_start)} only build state. The train slice runs
  from then to {format_time(split.test_start)}, and the test slice from then to {format_time(split.end)}.
  The item model (collaborative-filtering factors and text vectors) is fitted on the purchases before
  the train slice.
- Queries: every invoice of a returning customer in the train or test slice gives up to two searches.
  Each query is derived from a purchased product's title by a fixed rule (`rankers/queries.py`): the
  last word that is not a colour, size or filler word, with the word before it for about half of them
  ("holder", "light holder").
- Candidates: the top {window_size} Elasticsearch results for the query (BM25 on the title, the same
  request the API sends). A candidate's grade is 1 when the customer bought it in that invoice, else 0.
- Features are computed from the state just before the invoice, by the same code the API uses.
- Test groups: {experiment.test_groups:,}, of which {experiment.test_groups_with_relevant:,} have a purchased
  item among the candidates. Groups without one score 0 for every ranking.

## Results on the test slice

{metrics_table(experiment)}

Per query (NDCG@10 of the personalized model against Elasticsearch order): {evaluation.wins:,} wins,
{evaluation.losses:,} losses and {evaluation.ties:,} ties.

Training used {experiment.train_groups:,} train groups. Early stopping on the newest 20 % of the train
slice chose {experiment.training["personalized"]["best_iteration"]} trees for the personalized model and
{experiment.training["non_personalized"]["best_iteration"]} for the model without user features.

## Limits of this evaluation

- The queries are derived from the bought product's title, so retrieval nearly always finds it, and
  the metrics measure how well each ranking orders the products that match. Queries typed by real
  shoppers are noisier, and their bought item is not always retrieved.
- Every product of the invoice that matches the query counts as relevant; products the customer
  would have liked but did not buy count as irrelevant.
- Only returning customers are evaluated: the API serves unknown users in retrieval order.

## Feature importance (personalized model, total gain)

| feature | gain |
|---|---:|
{importance_lines}
"""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)

    return text
