"""The running bot's probes over real HTTP: health, metrics, the agenda feed, one active instance,
and health kept while its feeds hang, reset or send garbage."""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import icalendar
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from prometheus_client.parser import text_string_to_metric_families

from bot.app import App
from bot.config import Config, FeedConfig, WebConfig
from tests.homeserver.conftest import Community
from tests.homeserver.harness import poll, started

pytestmark = pytest.mark.homeserver


def free_port() -> int:
    """A TCP port free on loopback right now (the tests pick it; port 0 means no server)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def with_web(config: Config, **changes: Any) -> Config:
    """``config`` with the web server on a free loopback port, and other top-level changes."""
    web_config = WebConfig(host="127.0.0.1", port=free_port())
    return config.model_copy(update={"web": web_config, **changes})


async def get(app: App, path: str) -> tuple[int, bytes]:
    assert app.web is not None
    async with aiohttp.ClientSession() as http, http.get(app.web.url + path) as response:
        return response.status, await response.read()


async def health(app: App) -> tuple[int, dict[str, Any]]:
    assert app.web is not None
    async with aiohttp.ClientSession() as http, http.get(app.web.url + "/healthz") as response:
        return response.status, await response.json()


async def metric_values(app: App) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample /metrics serves, by name and labels."""
    _, body = await get(app, "/metrics")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(body.decode())
        for sample in family.samples
    }


async def restarted_with(community: Community, config: Config) -> App:
    """The community's bot stopped and started again with ``config``."""
    await community.app.stop()
    community.app = await started(config)
    return community.app


async def test_probes_answer_on_the_running_bot(community: Community) -> None:
    """/healthz is 200, /metrics counts a member's !ping, and an event an organiser adds is in
    /agenda.ics at 15:00 Paris time."""
    app = await restarted_with(community, with_web(community.config()))
    status, details = await health(app)
    assert (status, details["instance"], details["sync"]) == (200, "active", True)
    ping = await community.alice.send_text(community.room_id, "!ping")
    await community.alice.wait_for_reply(community.room_id, ping)
    add = await community.orga.send_text(
        community.room_id, "!evenement ajouter jeudi 15h Atelier R"
    )
    await community.orga.wait_for_reply(community.room_id, add)
    values = await metric_values(app)
    assert values[("ssphub_commands_total", (("command", "ping"), ("outcome", "ok")))] == 1
    assert values[("ssphub_instance_active", ())] == 1
    assert values[("ssphub_sync_lag_seconds", ())] < 60
    status, body = await get(app, "/agenda.ics")
    [event] = icalendar.Calendar.from_ical(body).walk("VEVENT")
    assert status == 200 and str(event["summary"]) == "Atelier R"
    assert event["dtstart"].params["TZID"] == "Europe/Paris"
    assert event["dtstart"].dt.strftime("%H:%M") == "15:00"


async def test_a_second_instance_waits_then_takes_over(community: Community) -> None:
    """A second bot on the same data never logs in while the first runs, says it is a standby,
    and answers commands once the first stops."""
    second = App(with_web(community.config()))
    starting = asyncio.create_task(second.start())
    try:
        await poll(lambda: _is_standby(second), timeout=30)
        assert second.gateway is None and not starting.done()
        await community.app.stop()
        await asyncio.wait_for(starting, timeout=60)
    except BaseException:
        starting.cancel()
        await second.stop()
        raise
    community.app = second
    assert (await health(second))[1]["instance"] == "active"
    ping = await community.alice.send_text(community.room_id, "!ping")
    answer = await community.alice.wait_for_reply(community.room_id, ping)
    assert answer.body == "pong 🏓"


async def _is_standby(app: App) -> bool:
    """Whether ``app`` answers its health check as a standby (False while it starts)."""
    try:
        status, details = await health(app)
    except (AssertionError, aiohttp.ClientError):
        return False
    return status == 200 and details["instance"] == "standby"


@asynccontextmanager
async def hostile_feeds() -> AsyncIterator[TestServer]:
    """A feed server whose feeds hang forever, reset the connection, or send garbage."""
    release = asyncio.Event()

    async def hang(_request: web.Request) -> web.Response:
        await release.wait()
        return web.Response(text="too late")

    async def reset(request: web.Request) -> web.Response:
        transport = request.transport
        assert transport is not None
        sock = transport.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()  # with a zero linger: a TCP reset, no answer at all
        return web.Response()

    async def garbage(_request: web.Request) -> web.Response:
        return web.Response(
            body=b"\x00\xff<<rss <item>>>" * 4000, content_type="application/rss+xml"
        )

    app = web.Application()
    app.router.add_get("/hang.xml", hang)
    app.router.add_get("/reset.xml", reset)
    app.router.add_get("/garbage.xml", garbage)
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    try:
        yield server
    finally:
        release.set()
        await server.close()


async def test_hostile_feeds_leave_the_bot_healthy(community: Community) -> None:
    """Feeds that hang, reset or send garbage are counted as timeout, network and parse
    failures, while /healthz stays 200 and members' commands are answered."""
    async with hostile_feeds() as server:
        feeds = tuple(
            FeedConfig(url=str(server.make_url(path)), timeout_seconds=1, interval=10)
            for path in ("/hang.xml", "/reset.xml", "/garbage.xml")
        )
        app = await restarted_with(community, with_web(community.config(), feeds=feeds))
        expected = {"/hang.xml": "timeout", "/reset.xml": "network", "/garbage.xml": "parse"}

        async def all_failed() -> bool:
            values = await metric_values(app)
            polls = [
                (("feed", str(server.make_url(path))), ("result", kind))
                for path, kind in expected.items()
            ]
            return all(values.get(("ssphub_feed_polls_total", key), 0) >= 1 for key in polls)

        await poll(all_failed, timeout=30)
        assert (await health(app))[0] == 200
        ping = await community.alice.send_text(community.room_id, "!ping")
        assert (await community.alice.wait_for_reply(community.room_id, ping)).body == "pong 🏓"
        assert (await health(app))[0] == 200
