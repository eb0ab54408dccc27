"""Print example search requests that show two real customers getting different orders for one query."""

from __future__ import annotations

import argparse
import json
import urllib.parse
import urllib.request
from collections import Counter
from typing import Any

from sample_data.online_retail import load_online_retail

QUERIES = ("light holder", "bag", "mug", "candle", "heart", "cake stand")
CUSTOMERS_TRIED = 8
TOP = 5


def search(api: str, query: str, user_id: str | None) -> dict[str, Any]:
    """Call GET /v1/search on the local API and return the decoded body."""
    params = {"q": query, "size": str(TOP)}
    if user_id is not None:
        params["user_id"] = user_id
    url = f"{api}/v1/search?{urllib.parse.urlencode(params)}"
    with urllib.request.urlopen(url, timeout=10) as response:
        body: dict[str, Any] = json.load(response)

    return body


def show(api: str, query: str, user_id: str | None, body: dict[str, Any]) -> None:
    """Print the curl command and the top hits of one response."""
    user_part = f"&user_id={user_id}" if user_id else ""
    print(f"$ curl '{api}/v1/search?q={urllib.parse.quote(query)}{user_part}&size={TOP}'")
    reason = "" if body["personalized"] else f" (reason: {body['reason']})"
    print(f"  personalized={body['personalized']}{reason} model={body['model_version']} "
          f"total_ms={body['timings_ms']['total']}")
    for i, hit in enumerate(body["hits"], 1):
        print(f"  {i}. {hit['id']:<8} {hit['title'][:48]:<48} £{hit['price']:<6} "
              f"(retrieval position {hit['retrieval_position']})")


def main() -> None:
    """Find a query where two of the busiest customers get the most different top results."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--api", default="http://127.0.0.1:8000", help="Base URL of the local API.")
    args = parser.parse_args()

    retail = load_online_retail()
    busiest = [user for user, _ in Counter(p.user_id for p in retail.purchases).most_common(CUSTOMERS_TRIED)]

    # At most len(QUERIES) * CUSTOMERS_TRIED requests, all to the local API.
    best: tuple[int, str, str, str, dict[str, Any], dict[str, Any]] | None = None
    for query in QUERIES:
        results = {user: search(args.api, query, user) for user in busiest}
        for i, first in enumerate(busiest):
            for second in busiest[i + 1:]:
                top_first = [h["id"] for h in results[first]["hits"]]
                top_second = [h["id"] for h in results[second]["hits"]]
                difference = sum(a != b for a, b in zip(top_first, top_second, strict=False))
                if best is None or difference > best[0]:
                    best = (difference, query, first, second, results[first], results[second])
        if best is not None and best[0] == TOP:
            break

    if best is None:
        print("No example found: the API returned no hits for the demo queries.")
        return

    _, query, first, second, first_body, second_body = best
    print(f"Query {query!r} without a user, in Elasticsearch order:")
    show(args.api, query, None, search(args.api, query, None))
    for user, body in ((first, first_body), (second, second_body)):
        print(f"\nThe same query for customer {user}:")
        show(args.api, query, user, body)
    print(f"\nMore: {args.api}/v1/search?q=mug&user_id={first}&debug=true shows each hit's features "
          "and their contributions; POST events to /v1/events; /v1/ready checks the dependencies.")


if __name__ == "__main__":
    main()
