"""The bot's Prometheus metrics: counters bumped at the edges, backlog gauges read at scrape time.

One ``Metrics`` object per application, on a registry the application owns (never the library's
global one), handed to the router, the feed watchers and the sender. Label values come from
declarations and fixed vocabularies only — never from what a member typed — so the number of
series stays bounded.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from prometheus_client import CollectorRegistry, Counter, Gauge
from prometheus_client.exposition import choose_encoder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage import outbox, reminders

NO_COMMAND = "none"  # the ``command`` label of a word that names no declared command
COMMAND_OUTCOMES = (
    "ok", "usage_error", "user_error", "denied", "internal_error", "rate_limited", "unknown",
)  # fmt: skip
SEND_RESULTS = ("sent", "rate_limited", "retried", "failed", "held", "refused")
# The codes of m.room_key.withheld the spec defines; any other is counted as "other".
WITHHELD_CODES = (
    "m.unverified", "m.blacklisted", "m.unauthorised", "m.unavailable", "m.no_olm",
    "m.history_not_shared",
)  # fmt: skip
OVERDUE_AFTER = timedelta(minutes=1)


@dataclass(frozen=True)
class Backlog:
    """What waits in the database, read when Prometheus scrapes."""

    outbox_pending: int
    outbox_failed: int
    oldest_pending_at: datetime | None
    reminders_pending: int
    reminders_overdue: int


async def read_backlog(session: AsyncSession, now: datetime) -> Backlog:
    """Count what waits: outbox rows by status, the oldest pending one, planned reminders."""
    counts = await outbox.counts(session)
    return Backlog(
        outbox_pending=counts.get(outbox.PENDING, 0),
        outbox_failed=counts.get(outbox.FAILED, 0),
        oldest_pending_at=await outbox.oldest_pending_at(session),
        reminders_pending=await reminders.count_active(session),
        reminders_overdue=await reminders.count_active(session, due_before=now - OVERDUE_AFTER),
    )


@dataclass(frozen=True)
class Liveness:
    """The running instance as the scrape sees it."""

    active: bool
    last_sync_at: datetime | None


class Metrics:
    """Every metric of the bot, registered on ``registry`` (a fresh one when none is given)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self._counters()
        self._gauges()

    def _counters(self) -> None:
        registry = self.registry
        self.commands = Counter(
            "ssphub_commands", "Commands handled, by declared command and outcome.",
            ["command", "outcome"], registry=registry,
        )  # fmt: skip
        self.announcements = Counter(
            "ssphub_announcements", "Feed items announced (queued to their rooms).",
            registry=registry,
        )  # fmt: skip
        self.feed_polls = Counter(
            "ssphub_feed_polls", "Feed polls, by feed and result class.",
            ["feed", "result"], registry=registry,
        )  # fmt: skip
        self.sends = Counter(
            "ssphub_outbox_sends", "Attempts to send an outbox row, by result.",
            ["result"], registry=registry,
        )  # fmt: skip
        for result in SEND_RESULTS:  # every series exists from the start, at zero
            self.sends.labels(result)
        self.pruned_rows = Counter(
            "ssphub_pruned_rows", "Rows the housekeeping pruned, by table.",
            ["table"], registry=registry,
        )  # fmt: skip
        self.keys_withheld = Counter(
            "ssphub_room_keys_withheld", "Room keys a member's client refused the bot, by code.",
            ["code"], registry=registry,
        )  # fmt: skip

    def _gauges(self) -> None:
        registry = self.registry
        gauge = {
            "outbox_pending": "Outbox rows waiting to be sent.",
            "outbox_failed": "Outbox rows the homeserver refused for good.",
            "outbox_oldest_pending_age_seconds": "Age of the oldest pending outbox row (0: none).",
            "reminders_pending": "Reminders still planned.",
            "reminders_overdue": "Planned reminders whose time passed more than a minute ago.",
            "sync_lag_seconds": "Seconds since the last successful sync (NaN: none yet).",
            "instance_active": "1 when this instance holds the lock and runs the bot, else 0.",
            "database_up": "1 when the database answered this scrape, else 0.",
        }
        self.gauges = {
            name: Gauge(f"ssphub_{name}", text, registry=registry) for name, text in gauge.items()
        }
        self.cross_signed = Gauge(
            "ssphub_device_cross_signed",
            "1 when the bot's device is signed by its account's identity, 0 when it is not "
            "(NaN: not checked, encryption off or not logged in yet).",
            registry=registry,
        )
        self.cross_signed.set(math.nan)

    def command(self, name: str, outcome: str) -> None:
        """Count one command; ``name`` is the declared name, or ``NO_COMMAND``."""
        self.commands.labels(name, outcome).inc()

    def feed_poll(self, feed: str, result: str) -> None:
        """Count one poll of ``feed``: fetched, not_modified, unchanged, or a failure's kind."""
        self.feed_polls.labels(feed, result).inc()

    def announced(self, items: int) -> None:
        self.announcements.inc(items)

    def device_cross_signed(self, signed: bool) -> None:
        self.cross_signed.set(1 if signed else 0)

    def key_withheld(self, code: str) -> None:
        """Count one room key withheld from the bot; unknown codes as ``other``."""
        self.keys_withheld.labels(code if code in WITHHELD_CODES else "other").inc()

    def pruned(self, table: str, rows: int) -> None:
        """Count rows the housekeeping deleted from ``table``."""
        self.pruned_rows.labels(table).inc(rows)

    def send(self, result: str) -> None:
        """Count one outbox send attempt: sent, rate_limited, retried, failed, or (a private
        message) held until its member joins the DM or refused outside it."""
        self.sends.labels(result).inc()

    def observe(self, backlog: Backlog | None, liveness: Liveness, now: datetime) -> None:
        """Set the gauges from what was just read; without a backlog (the database did not
        answer), its gauges keep their last values and ``database_up`` says so."""
        last = liveness.last_sync_at
        values: dict[str, float] = {
            "sync_lag_seconds": _age(now, last) if last else math.nan,
            "instance_active": 1 if liveness.active else 0,
            "database_up": 0 if backlog is None else 1,
        }
        if backlog is not None:
            values |= _backlog_values(backlog, now)
        for name, value in values.items():
            self.gauges[name].set(value)

    def exposition(self, accept: str | None) -> tuple[bytes, str]:
        """The text exposition in the format the scraper asked for, and its content type."""
        encoder, content_type = choose_encoder(accept or "")
        return encoder(self.registry), content_type


def _backlog_values(backlog: Backlog, now: datetime) -> dict[str, float]:
    oldest = backlog.oldest_pending_at
    return {
        "outbox_pending": backlog.outbox_pending,
        "outbox_failed": backlog.outbox_failed,
        "outbox_oldest_pending_age_seconds": _age(now, oldest) if oldest else 0.0,
        "reminders_pending": backlog.reminders_pending,
        "reminders_overdue": backlog.reminders_overdue,
    }


def _age(now: datetime, then: datetime) -> float:
    return max(0.0, (now - then).total_seconds())
