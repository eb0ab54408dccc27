"""Tests of `python -m indexing` commands against the local node."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from click.testing import CliRunner, Result
from elasticsearch import Elasticsearch

from indexing import cli
from indexing.versions import list_versions, live_indices
from sample_data.online_retail import Product
from settings import get_settings

PRODUCTS = [
    Product("85123A", "WHITE HANGING HEART T-LIGHT HOLDER", 2.55, 1291191960.0, 2200),
    Product("71053", "WHITE METAL LANTERN", 3.39, 1291191960.0, 300),
]


@pytest.fixture
def alias(unique_name, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """An alias name given to the CLI through TAILOR_INDEX_ALIAS, with a small catalog source."""
    name = unique_name()
    monkeypatch.setenv("TAILOR_INDEX_ALIAS", name)
    monkeypatch.setitem(cli.SOURCES, "online-retail", lambda: list(PRODUCTS))
    get_settings.cache_clear()
    yield name
    get_settings.cache_clear()


def run(*args: str) -> Result:
    return CliRunner().invoke(cli.main, list(args))


def test_cli_build_and_versions(es: Elasticsearch, alias: str) -> None:
    built = run("build")
    versions = run("versions")

    live = live_indices(es, alias)
    assert built.exit_code == 0, built.output
    assert len(live) == 1
    assert f"Alias '{alias}' now points to '{live[0]}' (2 docs" in built.stdout
    assert "Previous index kept for rollback: none" in built.stdout
    assert versions.exit_code == 0, versions.output
    assert f"*     {live[0]}" in versions.stdout
    assert versions.stdout.splitlines()[1].split()[-3] == "2"


def test_cli_rollback(es: Elasticsearch, alias: str) -> None:
    assert run("build").exit_code == 0
    first = live_indices(es, alias)[0]
    second_build = run("build")
    second = live_indices(es, alias)[0]

    rolled_back = run("rollback")

    assert f"Previous index kept for rollback: {first}" in second_build.stdout
    assert rolled_back.exit_code == 0, rolled_back.output
    assert f"now points to '{first}' instead of '{second}'" in rolled_back.stdout
    assert live_indices(es, alias) == (first,)


def test_cli_rollback_without_previous(es: Elasticsearch, alias: str) -> None:
    assert run("build").exit_code == 0

    result = run("rollback")

    assert result.exit_code == 1
    assert "cannot be rolled back because no version older" in result.stderr


def test_cli_build_prints_failed_docs(
    es: Elasticsearch, alias: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = Product("BAD1", "MUG", "not-a-number", 0.0, 1)  # type: ignore[arg-type]
    monkeypatch.setitem(cli.SOURCES, "online-retail", lambda: [*PRODUCTS, bad])

    aborted = run("build")
    allowed = run("build", "--max-failures", "1")

    assert aborted.exit_code == 1
    assert "1 document(s) failed:" in aborted.stderr
    assert "BAD1 (HTTP 400): document_parsing_exception" in aborted.stderr
    assert "more than the allowed maximum of 0" in aborted.stderr
    assert allowed.exit_code == 0, allowed.output
    assert "BAD1 (HTTP 400)" in allowed.stderr
    assert [version.doc_count for version in list_versions(es, alias)] == [2]


def test_cli_unreachable_elasticsearch(monkeypatch: pytest.MonkeyPatch) -> None:
    # Port 1 on the loopback interface has no listener, so the connection is refused.
    monkeypatch.setenv("TAILOR_ES_URL", "http://127.0.0.1:1")
    get_settings.cache_clear()
    try:
        result = run("versions")
    finally:
        get_settings.cache_clear()

    assert result.exit_code == 1
    assert "Elasticsearch is not reachable at http://127.0.0.1:1" in result.stderr
    assert "devtools/services start" in result.stderr
