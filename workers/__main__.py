"""Command-line entry point of the workers: `python -m workers import-history|worker|drain`."""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import cast
from urllib.parse import urlsplit, urlunsplit

import click
import redis as redis_lib
from rq import Worker

from settings import Settings, get_settings

logger = logging.getLogger(__name__)


@click.group()
@click.option(
    "--log-level", default=None, help="Logging level such as DEBUG or INFO [default: TAILOR_LOG_LEVEL or INFO]."
)
def cli(log_level: str | None) -> None:
    """Import history into the event stream and run the jobs that turn events into features."""
    logging.basicConfig(
        level=(log_level or get_settings().log_level).upper(),
        format="%(asctime)s %(levelname)s %(name)s [%(process)d] %(message)s",
    )


@cli.command("import-history")
@click.option(
    "--until",
    "until_text",
    default=None,
    help="Import only purchases before this ISO 8601 date or date-time (UTC without an offset).",
)
@click.option(
    "--limit", type=click.IntRange(min=1), default=None, help="Import at most this many purchases, the earliest first."
)
@click.option(
    "--batch-size",
    type=click.IntRange(min=1),
    default=1000,
    show_default=True,
    help="Purchases appended per Redis transaction.",
)
@click.option(
    "--shift-to-now",
    is_flag=True,
    help="Move every timestamp forward by the same amount so the last purchase happens now, "
    "so events a storefront sends with today's time continue the history.",
)
@click.option(
    "--force", is_flag=True, help="Append the purchases even when they were already imported and consumed."
)
def import_history(
    until_text: str | None, limit: int | None, batch_size: int, shift_to_now: bool, force: bool
) -> None:
    """Append the Online Retail purchases to the event stream as purchase events and schedule their consumption."""
    from rankers.feature_store import event_marker_key
    from sample_data.online_retail import Purchase, load_online_retail
    from workers.importer import import_purchases, select_purchases

    settings = get_settings()
    until = _parse_until(until_text)
    redis = connect(settings)

    data = load_online_retail(settings=settings)
    # select_purchases yields the Purchase objects it is given, so they stay dataclasses.
    purchases = cast(list[Purchase], list(select_purchases(data.purchases, until=until, limit=limit)))

    # The consumer would skip every event as a duplicate, so appending them again only grows the stream.
    if purchases and not force:
        with _redis_errors(settings):
            applied = redis.exists(event_marker_key(purchases[0].event_id), event_marker_key(purchases[-1].event_id))
        if applied == 2:
            click.echo(
                f"The first and last of these {len(purchases)} purchases were already consumed, so the history is "
                "imported; nothing appended. Use --force to append anyway, or `make reset` to start afresh."
            )
            return

    if shift_to_now and purchases:
        # Every feature depends on time differences only, so a shifted history gives the same features.
        shift_s = time.time() - data.time_range[1]
        purchases = [dataclasses.replace(p, timestamp=p.timestamp + shift_s) for p in purchases]
        click.echo(f"Timestamps shifted forward by {shift_s / 86400:,.1f} days so the history ends now.")

    started = time.perf_counter()
    with _redis_errors(settings), click.progressbar(length=len(purchases), label="Appending purchases") as bar:
        report = import_purchases(redis, settings, purchases, batch_size, on_batch=bar.update)
    elapsed = time.perf_counter() - started

    rate = report.appended / elapsed if elapsed > 0 else 0.0
    click.echo(
        f"Appended {report.appended} purchase events to stream {settings.stream_key} in {elapsed:.1f} s "
        f"({rate:,.0f} events/s); {report.rejected} rejected; {report.jobs_enqueued} consume jobs enqueued "
        f"on queue {settings.queue_name}."
    )
    for error in report.rejection_examples:
        click.echo(f"  rejected purchase {error.index} ({error.event_id}): {[e.message for e in error.errors]}")
    click.echo("Run `python -m workers drain` (or a running `python -m workers worker`) to build the features.")


@cli.command()
def worker() -> None:
    """Run an RQ worker on the configured queue until interrupted (Ctrl-C)."""
    settings = get_settings()
    redis = connect(settings)

    with _redis_errors(settings):
        Worker([settings.queue_name], connection=redis).work()


@cli.command()
def drain() -> None:
    """Run a burst RQ worker that exits once the queue is empty, including jobs that reschedule themselves."""
    settings = get_settings()
    redis = connect(settings)

    started = time.perf_counter()
    with _redis_errors(settings):
        Worker([settings.queue_name], connection=redis).work(burst=True)
    click.echo(f"Queue {settings.queue_name} drained in {time.perf_counter() - started:.1f} s.")


def connect(settings: Settings) -> redis_lib.Redis:
    """Return a Redis client after a PING, or exit with a message naming the unreachable URL."""
    redis = redis_lib.Redis.from_url(settings.redis_url)

    with _redis_errors(settings):
        redis.ping()

    return redis


@contextmanager
def _redis_errors(settings: Settings) -> Iterator[None]:
    """Turn a Redis connection failure into a one-line error naming the URL instead of a traceback."""
    try:
        yield
    except (redis_lib.ConnectionError, redis_lib.TimeoutError) as exc:
        raise click.ClickException(
            f"Redis at {redact_url(settings.redis_url)} is unreachable ({exc}); "
            "start it (devtools/services start) or set TAILOR_REDIS_URL."
        ) from exc


def redact_url(url: str) -> str:
    """Return the URL with any password replaced by ***, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url

    netloc = f"{parts.username or ''}:***@{parts.hostname}"
    if parts.port is not None:
        netloc += f":{parts.port}"

    return urlunsplit(parts._replace(netloc=netloc))


def _parse_until(text: str | None) -> float | None:
    if text is None:
        return None

    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(
            f"{text!r} is not an ISO 8601 date such as 2011-09-01.", param_hint="--until"
        ) from None

    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)

    return parsed.timestamp()


if __name__ == "__main__":
    cli()
