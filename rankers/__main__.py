"""Command line for relevance engineers: train, evaluate, list and activate ranking models."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import click
from elasticsearch import Elasticsearch

from rankers.experiment import run_experiment
from rankers.registry import ModelError, ModelRegistry
from rankers.report import metrics_table, write_report
from sample_data.online_retail import load_online_retail
from settings import REPO_ROOT, get_settings

logger = logging.getLogger(__name__)


def connect_es() -> Elasticsearch:
    """Connect to Elasticsearch or exit with a message that names the URL."""
    settings = get_settings()
    es = Elasticsearch(settings.es_url, request_timeout=max(settings.es_timeout_s, 30.0))
    if not es.ping():
        raise click.ClickException(
            f"Elasticsearch at {settings.es_url} is not reachable; start it with `devtools/services start`."
        )

    return es


@click.group()
@click.option("--verbose", is_flag=True, help="Log debug messages.")
def cli(verbose: bool) -> None:
    """Train and manage tailor's ranking models."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # Training sends thousands of searches; one log line each would bury the results.
    logging.getLogger("elastic_transport").setLevel(logging.DEBUG if verbose else logging.WARNING)


@cli.command()
@click.option("--activate/--no-activate", default=True, help="Serve the new model right away.")
def train(activate: bool) -> None:
    """Train on the sample data, save a new model version and (by default) activate it."""
    settings = get_settings()
    es = connect_es()
    retail = load_online_retail(settings=settings)
    experiment = run_experiment(es, retail, settings)

    registry = ModelRegistry(settings.model_dir)
    version = registry.new_version()
    registry.save(
        version,
        experiment.personalized,
        experiment.item_model,
        {
            "data_range": {"start": retail.time_range[0], "end": retail.time_range[1]},
            "split": experiment.split.to_dict(),
            "metrics": experiment.evaluation.to_dict(),
            "training": experiment.training,
            "window_size": settings.window_size,
        },
    )
    if activate:
        registry.activate(version)

    click.echo(metrics_table(experiment))
    click.echo(f"model {version} saved to {settings.model_dir / version}" + (" and activated" if activate else ""))


@cli.command("eval")
@click.option(
    "--output", type=click.Path(path_type=Path), default=REPO_ROOT / "docs" / "evaluation.md",
    show_default=True, help="Where to write the Markdown report.",
)
def evaluate(output: Path) -> None:
    """Train both rankers, print MRR, NDCG@10 and Recall@10 on the test slice, and write the report."""
    settings = get_settings()
    es = connect_es()
    retail = load_online_retail(settings=settings)
    experiment = run_experiment(es, retail, settings)

    write_report(experiment, retail, output, "make eval", settings.window_size)
    click.echo(metrics_table(experiment))
    click.echo(json.dumps(experiment.evaluation.to_dict()["personalized_vs_retrieval_per_query"]))
    click.echo(f"report written to {output}")


@cli.command()
def versions() -> None:
    """List saved model versions; the active one is marked with '*'."""
    registry = ModelRegistry(get_settings().model_dir)
    active = registry.active_version()
    for version in registry.versions():
        click.echo(f"{'*' if version == active else ' '} {version}")


@cli.command()
@click.argument("version")
def activate(version: str) -> None:
    """Serve VERSION from now on (API processes pick it up within seconds)."""
    try:
        ModelRegistry(get_settings().model_dir).activate(version)
    except ModelError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"model {version} activated")


if __name__ == "__main__":
    sys.exit(cli())
