"""Per-user behaviour state (item, price and activity affinities) and how events update it."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

# Weight an event adds to the user's affinity for its item, before time decay.
EVENT_WEIGHTS: dict[str, float] = {
    "purchase": 1.0,
    "add_to_cart": 0.5,
    "click": 0.2,
    "view": 0.1,
}

# Events whose price shows what the user is willing to pay.
PRICE_EVENTS = frozenset({"purchase", "add_to_cart"})


@dataclass
class ItemAffinity:
    """The user's decayed weight for one item, how often they bought it and when they last did."""

    weight: float
    purchases: int
    last_ts: float


@dataclass
class UserProfile:
    """Everything tailor keeps about one user, with weights decayed to `updated_at`.

    Weights are decayed in event time, not wall-clock time, so replaying an archive
    gives the same state as receiving the events live.
    """

    user_id: str
    items: dict[str, ItemAffinity] = field(default_factory=dict)
    purchase_count: int = 0
    event_count: int = 0
    # Decayed weighted moments of log(price) over purchases and add-to-carts.
    price_weight: float = 0.0
    log_price_sum: float = 0.0
    log_price_sq_sum: float = 0.0
    updated_at: float = 0.0

    def apply(
        self,
        event_type: str,
        doc_id: str,
        timestamp: float,
        price: float | None,
        half_life_days: float,
        max_items: int,
    ) -> None:
        """Add one behaviour event to the profile, decaying older weights first."""
        base_weight = EVENT_WEIGHTS.get(event_type)
        if base_weight is None:
            return

        # An event older than the state counts less instead of rewinding the clock.
        half_life_s = half_life_days * 86400.0
        if timestamp >= self.updated_at:
            self._decay(0.5 ** ((timestamp - self.updated_at) / half_life_s))
            self.updated_at = timestamp
            weight = base_weight
        else:
            weight = base_weight * 0.5 ** ((self.updated_at - timestamp) / half_life_s)

        affinity = self.items.get(doc_id)
        if affinity is None:
            affinity = ItemAffinity(weight=0.0, purchases=0, last_ts=timestamp)
            self.items[doc_id] = affinity
        affinity.weight += weight
        affinity.last_ts = max(affinity.last_ts, timestamp)
        self.event_count += 1
        if event_type == "purchase":
            affinity.purchases += 1
            self.purchase_count += 1

        if event_type in PRICE_EVENTS and price is not None and price > 0:
            log_price = math.log(price)
            self.price_weight += weight
            self.log_price_sum += weight * log_price
            self.log_price_sq_sum += weight * log_price * log_price

        if len(self.items) > max_items:
            self._trim(max_items)

    def price_moments(self) -> tuple[float, float] | None:
        """Return the weighted mean and standard deviation of log(price), or None without prices."""
        if self.price_weight <= 0:
            return None

        mean = self.log_price_sum / self.price_weight
        variance = max(self.log_price_sq_sum / self.price_weight - mean * mean, 0.0)

        return mean, math.sqrt(variance)

    def _decay(self, factor: float) -> None:
        if factor >= 1.0:
            return
        for affinity in self.items.values():
            affinity.weight *= factor
        self.price_weight *= factor
        self.log_price_sum *= factor
        self.log_price_sq_sum *= factor

    def _trim(self, max_items: int) -> None:
        # The memory budget keeps the items with the highest decayed weight.
        heaviest = sorted(self.items.items(), key=lambda pair: pair[1].weight, reverse=True)[:max_items]
        self.items = dict(heaviest)

    def to_json(self) -> str:
        """Serialize the profile compactly for storage in Redis."""
        return json.dumps(
            {
                "user_id": self.user_id,
                "items": {
                    doc_id: [a.weight, a.purchases, a.last_ts] for doc_id, a in self.items.items()
                },
                "purchase_count": self.purchase_count,
                "event_count": self.event_count,
                "price": [self.price_weight, self.log_price_sum, self.log_price_sq_sum],
                "updated_at": self.updated_at,
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, raw: str | bytes) -> UserProfile:
        """Rebuild a profile serialized by `to_json`."""
        data = json.loads(raw)
        price_weight, log_price_sum, log_price_sq_sum = data["price"]

        return cls(
            user_id=data["user_id"],
            items={
                doc_id: ItemAffinity(weight=w, purchases=int(n), last_ts=ts)
                for doc_id, (w, n, ts) in data["items"].items()
            },
            purchase_count=int(data["purchase_count"]),
            event_count=int(data["event_count"]),
            price_weight=price_weight,
            log_price_sum=log_price_sum,
            log_price_sq_sum=log_price_sq_sum,
            updated_at=data["updated_at"],
        )
