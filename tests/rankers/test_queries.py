"""Tests of the rule that derives a shopper's query from a purchased product's title."""

from __future__ import annotations

import hashlib

import pytest

from rankers.queries import NON_HEAD_WORDS, derive_query, eligible_words
from sample_data.online_retail import load_online_retail

HEART_HOLDER = "WHITE HANGING HEART T-LIGHT HOLDER"


def sha1_is_even(key: str) -> bool:
    return hashlib.sha1(key.encode()).digest()[0] % 2 == 0


@pytest.fixture(scope="module")
def titles() -> list[str]:
    return [product.title for product in load_online_retail().catalog]


def test_eligible_words_skip_colour_and_short() -> None:
    assert eligible_words(HEART_HOLDER) == ["hanging", "heart", "light", "holder"]


def test_eligible_words_skip_size_and_fillers() -> None:
    assert eligible_words("SET OF 3 CAKE TINS PANTRY DESIGN") == ["cake", "tins", "pantry"]
    assert eligible_words("SMALL WHITE HEART OF WICKER") == ["heart", "wicker"]
    assert eligible_words("JUMBO BAG RED RETROSPOT") == ["bag", "retrospot"]


def test_derive_query_two_words_for_even_key() -> None:
    # The first byte of SHA-1("a") is 0x86, which is even.
    assert sha1_is_even("a")

    assert derive_query(HEART_HOLDER, "a") == "light holder"


def test_derive_query_one_word_for_odd_key() -> None:
    # The first byte of SHA-1("b") is 0xe9, which is odd.
    assert not sha1_is_even("b")

    assert derive_query(HEART_HOLDER, "b") == "holder"


def test_derive_query_real_event_ids() -> None:
    assert derive_query(HEART_HOLDER, "retail-536365-0") == "holder"
    assert derive_query(HEART_HOLDER, "retail-536365-1") == "light holder"


def test_derive_query_skips_trailing_colour() -> None:
    assert derive_query("CHILDS GARDEN SPADE PINK", "b") == "spade"
    assert derive_query("CHILDS GARDEN SPADE PINK", "a") == "garden spade"
    assert derive_query("SET/3 TALL GLASS CANDLE HOLDER PINK", "a") == "candle holder"
    assert derive_query("FILIGREE HEART BIRD WHITE", "b") == "bird"


def test_derive_query_skips_inner_colour_and_filler() -> None:
    assert derive_query("LUNCH BAG RED RETROSPOT", "a") == "bag retrospot"
    assert derive_query("SMALL WHITE HEART OF WICKER", "a") == "heart wicker"
    assert derive_query("PAPER CHAIN KIT 50'S CHRISTMAS", "a") == "kit christmas"


def test_derive_query_single_eligible_word() -> None:
    # One eligible word gives a one-word query whatever the key.
    assert derive_query("BLACK ORANGE SQUEEZER", "a") == "squeezer"
    assert derive_query("BLACK ORANGE SQUEEZER", "b") == "squeezer"
    assert derive_query("SILVER LARIAT 40CM", "a") == "lariat"


def test_derive_query_none_without_eligible_word() -> None:
    # Every real title has an eligible word, so these titles are made up.
    assert derive_query("PINK", "a") is None
    assert derive_query("SET OF 3 RED", "a") is None
    assert derive_query("", "a") is None


def test_derive_query_deterministic_for_key() -> None:
    keys = [f"retail-5{i:05d}-{i % 7}" for i in range(50)]

    first = [derive_query(HEART_HOLDER, key) for key in keys]
    second = [derive_query(HEART_HOLDER, key) for key in keys]

    assert first == second
    assert set(first) == {"holder", "light holder"}


def test_derive_query_catalog_titles(titles: list[str]) -> None:
    for title in titles:
        words = eligible_words(title)
        query = derive_query(title, "a")
        if not words:
            assert query is None, title
            continue
        expected = f"{words[-2]} {words[-1]}" if len(words) >= 2 else words[-1]
        assert query == expected, title
        assert not set(query.split()) & NON_HEAD_WORDS, title


def test_derive_query_catalog_splits_by_key(titles: list[str]) -> None:
    # Over real event ids, about half the queries of a multi-word title take two words.
    multi_word = [title for title in titles if len(eligible_words(title)) >= 2]
    queries = [derive_query(title, f"retail-{i}") for i, title in enumerate(multi_word)]
    two_word_share = sum(" " in (query or "") for query in queries) / len(queries)

    assert len(multi_word) > 1000
    assert 0.4 < two_word_share < 0.6
