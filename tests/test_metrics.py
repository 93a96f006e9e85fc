"""The Prometheus metrics: counted at the router, the feed watcher and the sender; backlog read."""

from __future__ import annotations

import itertools
import math
from datetime import timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.commands import agenda as agenda_commands
from bot.commands import meta
from bot.commands.context import CommandContext
from bot.commands.declare import Router
from bot.commands.router import Dispatcher
from bot.config import parse_config
from bot.errors import RateLimited, TransientDeliveryError
from bot.matrix.sender import Sender
from bot.messages import IncomingMessage, Message
from bot.metrics import Liveness, Metrics, read_backlog
from bot.services.ratelimit import RateLimiter
from bot.storage import outbox, reminders
from bot.storage.db import Database
from bot.storage.reminders import NewReminder
from tests import factory
from tests.factory import hub_rooms
from tests.factory import postbox as make_postbox
from tests.fakes import START, FakeClock, RecordingTransport

HUB = "!hub:localhost"
CONFIG = """\
matrix:
  homeserver: http://127.0.0.1:8008
  user_id: "@ssphub-bot:localhost"
  password: secret
rooms: ["!hub:localhost"]
organisers: ["@orga:localhost"]
commands:
  rate_limit: {burst: 8, per_seconds: 600}
"""
_numbers = itertools.count(1)

crashing = Router("crashing")


@crashing.command("boom", fr="boum", en="boom")
async def boom(_ctx: CommandContext) -> None:
    raise RuntimeError("a bug")


def samples(metrics: Metrics, accept: str | None = None) -> dict[tuple[str, str], float]:
    """Every sample of the text exposition, by name and sorted ``k=v`` labels."""
    body, _ = metrics.exposition(accept)
    found = {}
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            found[(sample.name, labels)] = sample.value
    return found


def dispatcher(db: Database, clock: FakeClock, metrics: Metrics) -> Dispatcher:
    """The real meta and agenda commands, plus one that crashes, counting into ``metrics``."""
    config = parse_config(CONFIG, source="test.yaml", environ={})
    services = factory.services(config, clock, db, rooms=hub_rooms(db, clock, [HUB]))
    limits = config.commands.rate_limit
    limiter = RateLimiter(clock, burst=limits.burst, per_seconds=limits.per_seconds)
    found = Dispatcher(services, limiter, metrics)
    found.include(meta.router, agenda_commands.router, crashing)
    return found


def incoming(body: str, sender: str = "@membre:localhost") -> IncomingMessage:
    return IncomingMessage(HUB, f"$m{next(_numbers)}", sender, body, START)


def test_two_applications_count_apart() -> None:
    """Each Metrics object has its own registry: nothing is shared through a global."""
    first, second = Metrics(), Metrics()
    first.command("ping", "ok")
    assert samples(first)[("ssphub_commands_total", "command=ping,outcome=ok")] == 1
    assert ("ssphub_commands_total", "command=ping,outcome=ok") not in samples(second)


def family(metrics: Metrics, name: str) -> dict[str, float]:
    """The samples of one metric, by their labels."""
    return {labels: value for (sample, labels), value in samples(metrics).items() if sample == name}


async def test_the_router_counts_each_command_by_name_and_outcome(
    db: Database, fake_clock: FakeClock
) -> None:
    """Each outcome is counted under the declared command's name, never under the word typed."""
    metrics = Metrics()
    router = dispatcher(db, fake_clock, metrics)
    for body in ["!ping", "!PING", "!agenda demain", "!evenement 999", "!statut", "!xyzzy"]:
        await router.handle(incoming(body))
    await router.handle(incoming("!boum"))
    for _ in range(9):  # a burst of 8, then the limit
        await router.handle(incoming("!ping", sender="@bavard:localhost"))
    assert family(metrics, "ssphub_commands_total") == {
        "command=ping,outcome=ok": 10,
        "command=agenda,outcome=usage_error": 1,
        "command=event,outcome=user_error": 1,
        "command=status,outcome=denied": 1,
        "command=none,outcome=unknown": 1,
        "command=boom,outcome=internal_error": 1,
        "command=ping,outcome=rate_limited": 1,
    }


async def test_the_sender_counts_sent_rate_limited_and_retried(
    db: Database, fake_clock: FakeClock
) -> None:
    """Each attempt to send an outbox row is counted by its result."""
    metrics = Metrics()
    transport = RecordingTransport()
    transport.fail_next(RateLimited(1.0))
    transport.fail_next(TransientDeliveryError("502"))
    sender = Sender(db, transport, fake_clock, pace_seconds=0, metrics=metrics)
    async with db.session() as session:
        await make_postbox(fake_clock, db).post(session, Message(HUB, "bonjour"))
    for _ in range(3):
        await sender.flush()
        fake_clock.advance(600)
    assert family(metrics, "ssphub_outbox_sends_total") == {
        "result=sent": 1, "result=rate_limited": 1, "result=retried": 1, "result=failed": 0,
        "result=held": 0, "result=refused": 0,
    }  # fmt: skip


async def add_reminder(db: Database, public_id: str, at_minutes: int) -> None:
    """An active reminder due ``at_minutes`` from the fake clock's start."""
    new = NewReminder(
        public_id, HUB, "@orga:localhost", "texte", "one_off",
        START + timedelta(minutes=at_minutes), None, "Europe/Paris", False, "fr",
    )  # fmt: skip
    async with db.session() as session:
        await reminders.add(session, new, START - timedelta(days=1))


async def test_backlog_gauges_are_read_from_the_database_at_scrape_time(
    db: Database, fake_clock: FakeClock
) -> None:
    """Outbox depth, failed rows, the oldest pending row's age and the planned and overdue
    reminders come from the database when the metrics are read."""
    postbox = make_postbox(fake_clock, db)
    async with db.session() as session:
        first = await postbox.post(session, Message(HUB, "un"))
        await outbox.mark_failed(session, first, "refused")
        await postbox.post(session, Message(HUB, "deux"))
    fake_clock.advance(90)
    async with db.session() as session:
        await postbox.post(session, Message(HUB, "trois"))
    await add_reminder(db, "r001", at_minutes=-5)
    await add_reminder(db, "r002", at_minutes=60)
    metrics = Metrics()
    async with db.session() as session:
        backlog = await read_backlog(session, fake_clock.now())
    metrics.observe(
        backlog, Liveness(True, fake_clock.now() - timedelta(seconds=12)), fake_clock.now()
    )
    found = samples(metrics)
    assert {name: found[(f"ssphub_{name}", "")] for name in GAUGES} == {
        "outbox_pending": 2,
        "outbox_failed": 1,
        "outbox_oldest_pending_age_seconds": 90,
        "reminders_pending": 2,
        "reminders_overdue": 1,
        "sync_lag_seconds": 12,
        "instance_active": 1,
        "database_up": 1,
    }


GAUGES = (
    "outbox_pending", "outbox_failed", "outbox_oldest_pending_age_seconds", "reminders_pending",
    "reminders_overdue", "sync_lag_seconds", "instance_active", "database_up",
)  # fmt: skip


def test_an_unanswering_database_keeps_the_backlog_and_says_so() -> None:
    """Without a backlog reading, database_up is 0; before any sync the lag is NaN."""
    metrics = Metrics()
    metrics.observe(None, Liveness(False, None), START)
    found = samples(metrics)
    assert found[("ssphub_database_up", "")] == 0
    assert found[("ssphub_instance_active", "")] == 0
    assert found[("ssphub_sync_lag_seconds", "")] != found[("ssphub_sync_lag_seconds", "")]


def test_openmetrics_is_served_to_a_scraper_that_asks_for_it() -> None:
    """The format follows the Accept header: OpenMetrics when asked, else the classic text."""
    metrics = Metrics()
    _, classic = metrics.exposition(None)
    body, negotiated = metrics.exposition("application/openmetrics-text; version=1.0.0")
    assert classic.startswith("text/plain; version=0.0.4")
    assert negotiated.startswith("application/openmetrics-text")
    assert body.endswith(b"# EOF\n")


@pytest.mark.parametrize("result", ["fetched", "timeout"])
def test_feed_polls_are_counted_by_feed_and_result_class(result: str) -> None:
    """A feed poll is counted under its feed's label and its result class."""
    metrics = Metrics()
    metrics.feed_poll("Événements", result)
    assert family(metrics, "ssphub_feed_polls_total") == {f"feed=Événements,result={result}": 1}


def test_identity_metrics() -> None:
    """The device gauge is NaN until checked, then 1 or 0; withheld keys count by known code,
    anything else as "other" (the label set stays bounded)."""
    metrics = Metrics()
    assert math.isnan(samples(metrics)[("ssphub_device_cross_signed", "")])
    metrics.device_cross_signed(False)
    assert samples(metrics)[("ssphub_device_cross_signed", "")] == 0
    metrics.device_cross_signed(True)
    assert samples(metrics)[("ssphub_device_cross_signed", "")] == 1
    for code in ("m.unverified", "m.unverified", "com.example.whatever"):
        metrics.key_withheld(code)
    assert family(metrics, "ssphub_room_keys_withheld_total") == {
        "code=m.unverified": 2,
        "code=other": 1,
    }
