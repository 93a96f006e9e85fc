"""The web server: /healthz, /metrics and /agenda.ics over real HTTP, on a real database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import aiohttp
import icalendar
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.config import Config, parse_config
from bot.messages import Message
from bot.metrics import Metrics
from bot.services.agenda import Agenda, Change, Field
from bot.storage.agenda import NewEvent
from bot.storage.db import Database
from bot.web import Probes, WebServer
from tests.factory import postbox as make_postbox
from tests.fakes import START, FakeClock
from tests.services.agenda.rig import paris

CONFIG = """\
matrix:
  homeserver: http://127.0.0.1:8008
  user_id: "@ssphub-bot:hub.test"
  password: secret
  sync_timeout_ms: 30000
rooms: ["!hub:hub.test"]
"""


@dataclass
class FakeVitals:
    """What the app would report: active or standby, the last sync, the sync task's state."""

    active: bool = True
    last_sync_at: datetime | None = None
    alive: bool = True

    def sync_alive(self) -> bool:
        return self.alive


@dataclass
class Site:
    """A started web server and what it reads."""

    url: str
    vitals: FakeVitals
    clock: FakeClock
    metrics: Metrics
    http: aiohttp.ClientSession

    async def get(self, path: str, **headers: str) -> tuple[int, str, bytes]:
        async with self.http.get(self.url + path, headers=headers) as response:
            return response.status, response.headers["Content-Type"], await response.read()


def config() -> Config:
    return parse_config(CONFIG, source="test.yaml", environ={})


@asynccontextmanager
async def serving(db: Database) -> AsyncIterator[Site]:
    clock = FakeClock()
    vitals = FakeVitals(last_sync_at=clock.now())
    metrics = Metrics()
    server = WebServer(Probes(config(), db, clock, metrics, vitals), "127.0.0.1", 0)
    await server.start()
    try:
        async with aiohttp.ClientSession() as http:
            yield Site(server.url, vitals, clock, metrics, http)
    finally:
        await server.stop()


@pytest.fixture
async def site(db: Database) -> AsyncIterator[Site]:
    """The web server on a free loopback port, an active instance that synced just now."""
    async with serving(db) as started:
        yield started


async def health(site: Site) -> tuple[int, dict[str, object]]:
    async with site.http.get(site.url + "/healthz") as response:
        return response.status, await response.json()


async def test_port_zero_takes_a_free_port(site: Site) -> None:
    """Asked for port 0, the server listens on a real port and says which."""
    assert not site.url.endswith(":0")
    assert (await health(site))[0] == 200


async def test_healthy_when_syncing_recently_and_the_database_answers(site: Site) -> None:
    """A live sync loop, a sync 10 s ago and a database that answers: 200 with the details."""
    site.clock.advance(10)
    status, details = await health(site)
    assert status == 200
    assert details == {
        "ok": True, "instance": "active", "database": True, "sync_loop": True, "sync": True,
        "last_sync_age_seconds": 10.0, "max_sync_age_seconds": 120.0,
    }  # fmt: skip


async def test_unhealthy_when_the_last_sync_is_too_old(site: Site) -> None:
    """No successful sync for longer than a long poll plus 90 s: 503."""
    site.clock.advance(121)
    status, details = await health(site)
    assert (status, details["ok"], details["sync"]) == (503, False, False)


async def test_unhealthy_when_the_sync_loop_ended(site: Site) -> None:
    """A sync task that ended, even right after a sync: 503."""
    site.vitals.alive = False
    status, details = await health(site)
    assert (status, details["sync_loop"]) == (503, False)


async def test_unhealthy_before_the_first_sync(site: Site) -> None:
    """An active instance that has not synced yet is not healthy (the start period covers it)."""
    site.vitals.last_sync_at = None
    status, details = await health(site)
    assert (status, details["last_sync_age_seconds"]) == (503, None)


async def test_a_standby_waiting_for_the_lock_is_healthy(site: Site) -> None:
    """An instance waiting for the lock is healthy as long as its database answers, so that a
    rolling deploy can start it beside the active one."""
    site.vitals.active, site.vitals.last_sync_at = False, None
    assert await health(site) == (200, {"ok": True, "instance": "standby", "database": True})


async def test_unhealthy_when_the_database_does_not_answer(tmp_path: Path) -> None:
    """A database that cannot be opened: 503, and /metrics says database_up 0."""
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/missing/dir/bot.db")
    try:
        async with serving(db) as site:
            status, details = await health(site)
            _, _, body = await site.get("/metrics")
    finally:
        await db.dispose()
    assert (status, details["database"]) == (503, False)
    assert b"ssphub_database_up 0.0" in body


async def test_metrics_read_the_backlog_and_the_sync_lag(site: Site, db: Database) -> None:
    """/metrics serves the Prometheus text format with the outbox depth read from the database
    and the sync lag of the moment."""
    async with db.session() as session:
        await make_postbox(site.clock, db).post(session, Message("!hub:hub.test", "bonjour"))
    site.clock.advance(30)
    status, content_type, body = await site.get("/metrics")
    assert status == 200 and content_type.startswith("text/plain; version=0.0.4")
    values = {
        sample.name: sample.value
        for family in text_string_to_metric_families(body.decode())
        for sample in family.samples
        if not sample.labels
    }
    assert values["ssphub_outbox_pending"] == 1
    assert values["ssphub_outbox_oldest_pending_age_seconds"] == 30
    assert values["ssphub_sync_lag_seconds"] == 30
    assert values["ssphub_instance_active"] == 1


async def test_agenda_ics_serves_the_window_of_the_agenda(site: Site, db: Database) -> None:
    """/agenda.ics holds the events of the last 30 days and the next 90, hidden ones left out,
    a 15:00 Paris event with TZID=Europe/Paris, as text/calendar."""
    agenda = Agenda(config().tz)
    starts = {
        "Atelier": paris("2026-03-05 15:00"),
        "Passé récent": START - timedelta(days=20),
        "Trop ancien": START - timedelta(days=40),
        "Trop lointain": START + timedelta(days=100),
        "Retiré": START + timedelta(days=3),
    }
    async with db.session() as session:
        for title, start in starts.items():
            added = await agenda.add(
                session, NewEvent(title, start, True, None, None, "@o:x"), START
            )
            if title == "Retiré":
                await agenda.remove(session, added.number, "@o:x", START)
    status, content_type, body = await site.get("/agenda.ics")
    assert (status, content_type) == (200, "text/calendar; charset=utf-8")
    calendar = icalendar.Calendar.from_ical(body)
    titles = sorted(str(event["summary"]) for event in calendar.walk("VEVENT"))
    assert titles == ["Atelier", "Passé récent"]
    assert b"DTSTART;TZID=Europe/Paris:20260305T150000\r\n" in body
    assert [zone["tzid"] for zone in calendar.walk("VTIMEZONE")] == ["Europe/Paris"]


async def test_agenda_ics_shows_organisers_amendments(site: Site, db: Database) -> None:
    """An event whose time an organiser changed appears at the amended time."""
    agenda = Agenda(config().tz)
    async with db.session() as session:
        added = await agenda.add(
            session, NewEvent("Comité", paris("2026-03-12 10:00"), True, None, None, "@o:x"), START
        )
        change = Change(Field.START, moment=paris("2026-03-12 14:00"))
        await agenda.amend(session, added.number, change, "@o:x", START)
    _, _, body = await site.get("/agenda.ics")
    assert b"DTSTART;TZID=Europe/Paris:20260312T140000\r\n" in body


async def test_a_taken_port_is_logged_and_not_fatal(
    site: Site, db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    """A second server on a port already in use says so and lets the bot run on."""
    port = int(site.url.rsplit(":", 1)[1])
    probes = Probes(config(), db, site.clock, Metrics(), site.vitals)
    second = WebServer(probes, "127.0.0.1", port)
    try:
        assert not await second.start()
    finally:
        await second.stop()
    assert f"web server cannot listen on 127.0.0.1:{port}" in caplog.text
    assert (await health(site))[0] == 200
