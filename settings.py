"""Service settings read from TAILOR_* environment variables, in one place."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent


class Settings(BaseSettings):
    """Every tunable of the API, the workers and the command-line tools."""

    model_config = SettingsConfigDict(env_prefix="TAILOR_", frozen=True)

    # Services.
    es_url: str = "http://127.0.0.1:9200"
    es_timeout_s: float = 10.0
    redis_url: str = "redis://127.0.0.1:6379/0"

    # Catalog index.
    index_alias: str = "products"
    title_analyzer: str = "standard"
    bulk_chunk_size: int = Field(500, ge=1)

    # Search requests.
    window_size: int = Field(100, ge=1, le=1000)
    default_page_size: int = Field(10, ge=1)
    max_page_size: int = Field(100, ge=1)
    max_page: int = Field(100, ge=1)
    max_query_length: int = Field(200, ge=1)

    # Events and per-user state.
    stream_key: str = "tailor:events"
    consumer_group: str = "feature-builders"
    max_events_per_request: int = Field(1000, ge=1)
    event_dedupe_ttl_s: int = Field(30 * 24 * 3600, ge=1)
    user_max_items: int = Field(200, ge=1)
    user_ttl_s: int = Field(400 * 24 * 3600, ge=1)
    affinity_half_life_days: float = Field(90.0, gt=0)
    popularity_half_life_days: float = Field(30.0, gt=0)
    queue_name: str = "tailor"
    # Approximate cap on stream entries (XADD MAXLEN ~); older entries are trimmed, not archived.
    # A purchase event took about 165 bytes of stream memory (Redis 7.0), so the default is about 330 MB.
    stream_max_len: int = Field(2_000_000, ge=1000)
    # Events read from the stream per XREADGROUP call and applied together.
    consumer_batch_size: int = Field(1000, ge=1)
    # Pending entries idle longer than this (milliseconds) are reclaimed from dead consumers.
    consumer_claim_idle_ms: int = Field(60_000, ge=1)
    # Optimistic-lock retries per user before a batch is left pending for a later run.
    consumer_watch_retries: int = Field(5, ge=1)
    # Events one RQ consume job handles before it reschedules itself.
    consume_job_max_events: int = Field(100_000, ge=1)
    # Wall-clock limit of one RQ consume job, in seconds.
    consume_job_timeout_s: int = Field(600, ge=1)
    # Socket connect and read timeout of the API's Redis client, in seconds.
    redis_timeout_s: float = Field(5.0, gt=0)
    # Largest request body the API reads, in bytes.
    max_request_bytes: int = Field(8 * 1024 * 1024, ge=1024)
    log_level: str = "INFO"

    # Models.
    model_dir: Path = REPO_ROOT / "var" / "models"
    model_check_interval_s: float = Field(5.0, ge=0)

    # Sample data: an explicit folder, else ../shared/data beside the repository, else a download.
    data_dir: Path | None = None
    cache_dir: Path = Path.home() / ".cache" / "tailor"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the process-wide settings, read once from the environment."""
    return Settings()
