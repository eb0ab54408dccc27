"""Validation of the search request's query-string parameters."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from settings import Settings

TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"", "0", "false", "no", "off"})
MAX_USER_ID_LENGTH = 128
KNOWN_PARAMETERS = frozenset({"q", "user_id", "page", "size", "debug"})


class ParameterError(ValueError):
    """A request parameter is invalid; `field` names it for the HTTP 400 body."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class SearchParams:
    """A validated search request."""

    query: str
    user_id: str | None
    page: int
    size: int
    debug: bool


def parse_search_params(args: Mapping[str, str], settings: Settings) -> SearchParams:
    """Validate the query-string parameters, raising ParameterError on the first invalid one."""
    unknown = sorted(set(args) - KNOWN_PARAMETERS)
    if unknown:
        raise ParameterError(
            unknown[0],
            f"Unknown parameter {unknown[0]!r}; expected one of {', '.join(sorted(KNOWN_PARAMETERS))}.",
        )

    query = args.get("q", "")
    if len(query) > settings.max_query_length:
        raise ParameterError(
            "q",
            f"Query is {len(query)} characters long; the maximum is {settings.max_query_length}.",
        )

    user_id = normalize_user_id(args.get("user_id"))
    page = parse_int(args, "page", default=1, minimum=1, maximum=settings.max_page)
    size = parse_int(args, "size", default=settings.default_page_size, minimum=1, maximum=settings.max_page_size)

    debug_text = args.get("debug", "").strip().lower()
    if debug_text not in TRUE_WORDS | FALSE_WORDS:
        raise ParameterError("debug", f"debug must be true or false; got {args['debug']!r}.")

    return SearchParams(query=query, user_id=user_id, page=page, size=size, debug=debug_text in TRUE_WORDS)


def parse_int(args: Mapping[str, str], name: str, default: int, minimum: int, maximum: int) -> int:
    """Read an integer parameter within [minimum, maximum], or the default when absent."""
    raw = args.get(name)
    if raw is None or raw == "":
        return default

    try:
        value = int(raw)
    except ValueError:
        raise ParameterError(name, f"{name} must be an integer; got {raw!r}.") from None
    if not minimum <= value <= maximum:
        raise ParameterError(name, f"{name} must be between {minimum} and {maximum}; got {value}.")

    return value


def normalize_user_id(raw: str | None) -> str | None:
    """Return the shop's customer id as a string, or None when absent.

    Storefronts send the id they know, such as "17841"; a float spelling such as "17841.0"
    is read as the same customer.
    """
    if raw is None or raw.strip() == "":
        return None

    text = raw.strip()
    if len(text) > MAX_USER_ID_LENGTH:
        raise ParameterError("user_id", f"user_id is longer than {MAX_USER_ID_LENGTH} characters.")
    if text.endswith(".0") and text[:-2].isdigit():
        text = text[:-2]

    return text
