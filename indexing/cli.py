"""Command line of the catalog index: build, rollback and versions."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click
from elasticsearch import ApiError, ConnectionTimeout, Elasticsearch, TransportError
from elasticsearch import ConnectionError as ESConnectionError

from indexing.aliases import rollback
from indexing.build import DEFAULT_KEEP, build
from indexing.bulk import DocFailure
from indexing.documents import product_to_doc
from indexing.errors import BuildAbortedError, IndexingError
from indexing.versions import list_versions
from settings import get_settings

logger = logging.getLogger(__name__)


def _load_online_retail() -> list[Any]:
    # Imported here so that `versions` and `rollback` work without the sample data package.
    from sample_data.online_retail import load_online_retail

    return list(load_online_retail().catalog)


# Loaders of the products to index, by --source name.
SOURCES: dict[str, Callable[[], list[Any]]] = {"online-retail": _load_online_retail}


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="Log progress at INFO level.")
def main(verbose: bool) -> None:
    """Build, list and roll back versions of the catalog index behind its alias."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )

    # The transport logs every connection retry with a traceback. Without --verbose the
    # command's own error message is enough.
    if not verbose:
        logging.getLogger("elastic_transport").setLevel(logging.ERROR)


@main.command("build")
@click.option(
    "--source",
    type=click.Choice(sorted(SOURCES)),
    default="online-retail",
    show_default=True,
    help="Catalog to index.",
)
@click.option(
    "--max-failures",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Number of failed docs up to which the alias is still swapped to the new index.",
)
@click.option(
    "--keep",
    type=click.IntRange(min=1),
    default=DEFAULT_KEEP,
    show_default=True,
    help="Number of older versions kept for rollback besides the live index.",
)
def build_command(source: str, max_failures: int, keep: int) -> None:
    """Index the catalog into a new version and point the alias to it."""
    settings = get_settings()
    es = _connect()

    products = SOURCES[source]()
    docs = (product_to_doc(product) for product in products)

    # The bar goes to stderr so that stdout contains only the result.
    with (
        _exit_on_errors(),
        click.progressbar(length=len(products), label="Indexing", file=sys.stderr) as bar,
    ):
        try:
            result = build(
                es,
                docs,
                alias=settings.index_alias,
                max_failures=max_failures,
                keep=keep,
                progress=bar.update,
            )
        except BuildAbortedError as error:
            _print_failures(error.failures)
            raise

    _print_failures(result.failures)
    click.echo(
        f"Alias '{result.alias}' now points to '{result.index}' "
        f"({result.doc_count} docs, built in {result.elapsed_s:.1f} s)."
    )
    previous = ", ".join(result.previous_indices) or "none, this is the first version"
    click.echo(f"Previous index kept for rollback: {previous}")
    if result.deleted_indices:
        click.echo(f"Deleted old versions: {', '.join(result.deleted_indices)}")


@main.command("rollback")
def rollback_command() -> None:
    """Point the alias back to the version built before the live one."""
    settings = get_settings()
    es = _connect()

    with _exit_on_errors():
        result = rollback(es, settings.index_alias)

    click.echo(
        f"Alias '{result.alias}' now points to '{result.to_index}' "
        f"instead of '{result.from_index}'."
    )


@main.command("versions")
def versions_command() -> None:
    """List the versions of the alias, newest first, with doc counts and creation times."""
    settings = get_settings()
    es = _connect()

    with _exit_on_errors():
        versions = list_versions(es, settings.index_alias)

    if not versions:
        click.echo(
            f"Alias '{settings.index_alias}' has no versions yet. Run `python -m indexing build`."
        )
        return

    click.echo(f"{'live':<5} {'index':<48} {'docs':>8}  created (UTC)")
    for version in versions:
        marker = "*" if version.live else ""
        created = version.created_at.strftime("%Y-%m-%d %H:%M:%S")
        click.echo(f"{marker:<5} {version.index:<48} {version.doc_count:>8}  {created}")


def _connect() -> Elasticsearch:
    settings = get_settings()
    es = Elasticsearch(settings.es_url, request_timeout=settings.es_timeout_s)

    try:
        es.options(max_retries=0).info()
    except (ESConnectionError, ConnectionTimeout) as error:
        raise click.ClickException(
            f"Elasticsearch is not reachable at {settings.es_url}. Start the local services "
            f"with `devtools/services start`, or set TAILOR_ES_URL. The error was: {error}"
        ) from error

    return es


@contextmanager
def _exit_on_errors() -> Iterator[None]:
    """Turn expected errors into a one-line message and exit status 1."""
    try:
        yield
    except IndexingError as error:
        raise click.ClickException(str(error)) from error
    except (ApiError, TransportError) as error:
        url = get_settings().es_url
        raise click.ClickException(
            f"The request to Elasticsearch at {url} failed ({error}). "
            "Check that it runs with `devtools/services status` and retry."
        ) from error


def _print_failures(failures: tuple[DocFailure, ...]) -> None:
    if not failures:
        return

    click.echo(f"{len(failures)} document(s) failed:", err=True)
    for failure in failures:
        click.echo(f"  {failure}", err=True)
