"""The fixed rule that turns a purchased product's title into the query a shopper would type."""

from __future__ import annotations

import hashlib
import re

# Words that describe a variant rather than the kind of product, so shoppers rarely search
# for them alone: colours, sizes, counts and fillers of the shop's titles.
NON_HEAD_WORDS = frozenset(
    """
    and assorted black blue brown cream design gold green grey ivory large medium mini
    of orange pack pink purple red set silver small the white with yellow jumbo
    """.split()
)
MIN_WORD_LENGTH = 3
WORD = re.compile(r"[a-z]+")


def eligible_words(title: str) -> list[str]:
    """Return the title's lower-case words that can stand in a query, in title order."""
    return [
        w for w in WORD.findall(title.lower()) if len(w) >= MIN_WORD_LENGTH and w not in NON_HEAD_WORDS
    ]


def derive_query(title: str, key: str) -> str | None:
    """Derive the query for a purchase of the product titled `title`.

    The rule: take the last eligible word of the title (the head noun in this shop's titles,
    such as "holder" in "WHITE HANGING HEART T-LIGHT HOLDER"). When the title has another
    eligible word before it and the SHA-1 of `key` (the purchase's event id) is even, put that
    word first ("light holder"), so about half the queries have one word and half two.
    Returns None when the title has no eligible word.
    """
    words = eligible_words(title)
    if not words:
        return None

    two_words = len(words) >= 2 and hashlib.sha1(key.encode()).digest()[0] % 2 == 0
    if two_words:
        return f"{words[-2]} {words[-1]}"

    return words[-1]
