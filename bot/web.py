"""The bot's small web server: /healthz for probes, /metrics for Prometheus, /agenda.ics."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from aiohttp import web
from sqlalchemy import text

from bot.clock import Clock
from bot.config import Config
from bot.i18n import catalogue
from bot.ics import CalendarInfo, agenda_calendar, window
from bot.metrics import Backlog, Liveness, Metrics, read_backlog
from bot.services.agenda import Agenda
from bot.storage.db import Database

log = logging.getLogger(__name__)

DATABASE_TIMEOUT = 3.0  # under the container health check's own 5 s
SYNC_SLACK = timedelta(seconds=90)  # a long-poll sync plus this, and the sync loop is stuck
CALENDAR_MAX_AGE = 300


@dataclass(frozen=True)
class Health:
    """One reading of the bot's health."""

    ok: bool
    details: dict[str, object]


class Vitals(Protocol):
    """What the running bot tells its probes."""

    @property
    def active(self) -> bool:
        """Whether this instance holds the lock and runs (else it waits as a standby)."""
        ...

    @property
    def last_sync_at(self) -> datetime | None: ...

    def sync_alive(self) -> bool:
        """Whether the sync loop's task is still running."""
        ...


class Probes:
    """Reads health, metrics and the agenda for the web server, from the database and vitals."""

    def __init__(
        self, config: Config, db: Database, clock: Clock, metrics: Metrics, vitals: Vitals
    ) -> None:
        self.config = config
        self.db = db
        self.clock = clock
        self.metrics = metrics
        self.vitals = vitals
        self.max_sync_age = timedelta(milliseconds=config.matrix.sync_timeout_ms) + SYNC_SLACK

    async def health(self) -> Health:
        """A standby is healthy when the database answers; the active instance also needs a live
        sync loop whose last success is recent."""
        database = await self._database_answers()
        if not self.vitals.active:
            return Health(database, {"instance": "standby", "database": database})
        last, alive = self.vitals.last_sync_at, self.vitals.sync_alive()
        age = None if last is None else (self.clock.now() - last).total_seconds()
        recent = age is not None and age < self.max_sync_age.total_seconds()
        details: dict[str, object] = {
            "instance": "active",
            "database": database,
            "sync_loop": alive,
            "sync": recent,
            "last_sync_age_seconds": None if age is None else round(age, 1),
            "max_sync_age_seconds": self.max_sync_age.total_seconds(),
        }
        return Health(database and alive and recent, details)

    async def _database_answers(self) -> bool:
        try:
            await asyncio.wait_for(self._select_one(), timeout=DATABASE_TIMEOUT)
        except Exception as error:
            log.warning("health check: the database does not answer (%s)", type(error).__name__)
            return False
        return True

    async def _select_one(self) -> None:
        async with self.db.session() as session:
            await session.execute(text("SELECT 1"))

    async def exposition(self, accept: str | None) -> tuple[bytes, str]:
        """The metrics, with the backlog gauges read from the database now."""
        now = self.clock.now()
        try:
            backlog = await asyncio.wait_for(self._backlog(now), timeout=DATABASE_TIMEOUT)
        except Exception as error:
            log.warning("metrics: cannot read the backlog (%s)", type(error).__name__)
            backlog = None
        liveness = Liveness(self.vitals.active, self.vitals.last_sync_at)
        self.metrics.observe(backlog, liveness, now)
        return self.metrics.exposition(accept)

    async def _backlog(self, now: datetime) -> Backlog:
        async with self.db.session() as session:
            return await read_backlog(session, now)

    async def calendar(self) -> bytes:
        """The agenda of the last 30 days and the next 90 as an iCalendar document."""
        now = self.clock.now()
        start, end = window(now)
        async with self.db.session() as session:
            events = await Agenda(self.config.tz).between(session, start, end)
        t = catalogue(self.config.language)
        info = CalendarInfo(
            self.config.tz, t("calendar.name"), self.config.server_name, now,
            time_unknown=lambda title: t("calendar.time_unknown", title=title),
        )  # fmt: skip
        return await asyncio.to_thread(agenda_calendar, events, info)


def build_app(probes: Probes) -> web.Application:
    """The aiohttp application with its three routes."""

    async def healthz(_request: web.Request) -> web.Response:
        reading = await probes.health()
        status = 200 if reading.ok else 503
        return web.json_response(reading.details | {"ok": reading.ok}, status=status)

    async def metrics(request: web.Request) -> web.Response:
        body, content_type = await probes.exposition(request.headers.get("Accept"))
        return web.Response(body=body, headers={"Content-Type": content_type})

    async def agenda_ics(_request: web.Request) -> web.Response:
        try:
            body = await probes.calendar()
        except Exception:
            log.exception("agenda.ics: cannot build the calendar")
            return web.Response(status=503, text="agenda unavailable\n")
        headers = {
            "Content-Type": "text/calendar; charset=utf-8",
            "Content-Disposition": 'inline; filename="agenda.ics"',
            "Cache-Control": f"public, max-age={CALENDAR_MAX_AGE}",
        }
        return web.Response(body=body, headers=headers)

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/agenda.ics", agenda_ics)
    return app


class WebServer:
    """Serves ``build_app`` on ``host``:``port`` until stopped; port 0 takes a free port."""

    def __init__(self, probes: Probes, host: str, port: int) -> None:
        self.runner = web.AppRunner(build_app(probes), access_log=None)
        self.host, self.port = host, port

    async def start(self) -> bool:
        """Listen; False when the address is taken (the bot runs on, without its endpoints)."""
        await self.runner.setup()
        try:
            await web.TCPSite(self.runner, self.host, self.port).start()
        except OSError as error:
            log.error(
                "web server cannot listen on %s:%d (%s): /healthz, /metrics and /agenda.ics "
                "are off",
                self.host,
                self.port,
                error.strerror or error,
            )
            return False
        self.port = int(self.runner.addresses[0][1])
        log.info("web server on http://%s:%d", self.host, self.port)
        return True

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def stop(self) -> None:
        await self.runner.cleanup()
