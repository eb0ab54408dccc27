"""Conversion of catalog products into index docs."""

from __future__ import annotations

from typing import Any, Protocol

# A completion suggester matches from the start of an input only, so each title is also
# indexed from its 2nd, 3rd, ... word on: "heart" then completes "WHITE HANGING HEART ...".
MAX_SUGGEST_INPUTS = 8

# Completion weights must be integers in [0, 2^31 - 1].
MAX_SUGGEST_WEIGHT = 2**31 - 1

# The completion field rejects inputs that contain these separator characters.
_RESERVED_SUGGEST_CHARS = str.maketrans("", "", "\x00\x1e\x1f")


class ProductLike(Protocol):
    """Fields of `sample_data.online_retail.Product` that a doc is made of (read-only, so frozen dataclasses match)."""

    @property
    def doc_id(self) -> str: ...

    @property
    def title(self) -> str: ...

    @property
    def price(self) -> float: ...

    @property
    def first_sold(self) -> float: ...

    @property
    def times_sold(self) -> int: ...


def product_to_doc(product: ProductLike, popularity: float | None = None) -> dict[str, Any]:
    """Return the index doc of a product, without `popularity` when it is None."""
    doc: dict[str, Any] = {
        "doc_id": product.doc_id,
        "title": product.title,
        "title_suggest": suggest_entry(product.title, product.times_sold),
        "price": product.price,
        "first_sold": epoch_second_value(product.first_sold),
        "times_sold": product.times_sold,
    }

    if popularity is not None:
        doc["popularity"] = popularity

    return doc


def epoch_second_value(seconds: float) -> int | str:
    """Return epoch seconds as an `epoch_second` date value that survives partial updates.

    A partial update re-serializes the stored doc, which writes a JSON float such as
    1291191960.0 as 1.29119196E9, and Elasticsearch 8.19 then rejects it as an epoch_second
    date. Whole seconds are therefore sent as an integer and fractions as a string with
    millisecond precision, the resolution of a `date` field.
    """
    if float(seconds).is_integer():
        return int(seconds)
    return f"{seconds:.3f}"


def suggest_entry(title: str, times_sold: int) -> dict[str, Any]:
    """Return the `title_suggest` value of a title: word-suffix inputs weighted by sales."""
    words = title.translate(_RESERVED_SUGGEST_CHARS).split()

    inputs: list[str] = []
    for start in range(min(len(words), MAX_SUGGEST_INPUTS)):
        suffix = " ".join(words[start:])
        if suffix not in inputs:
            inputs.append(suffix)

    weight = min(max(int(times_sold), 0), MAX_SUGGEST_WEIGHT)

    return {"input": inputs, "weight": weight}
