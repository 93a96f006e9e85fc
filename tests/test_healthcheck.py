"""`ssphub-bot healthcheck` asks /healthz where the configuration says the bot listens."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.cli import main
from bot.config import WebConfig
from bot.healthcheck import check, healthz_url
from tests.homeserver.test_health import free_port

STATUS = web.AppKey("status", dict[str, int])


def test_the_probe_follows_the_configured_address() -> None:
    """Any-address servers are asked on loopback, others at their own address; port 0 is off."""
    assert healthz_url(WebConfig(host="0.0.0.0", port=8093)) == "http://127.0.0.1:8093/healthz"
    assert healthz_url(WebConfig(host="::", port=8093)) == "http://[::1]:8093/healthz"
    assert healthz_url(WebConfig(host="10.0.0.5", port=9000)) == "http://10.0.0.5:9000/healthz"
    assert healthz_url(WebConfig(host="0.0.0.0", port=0)) is None


@pytest_asyncio.fixture
async def server() -> AsyncIterator[TestServer]:
    """An HTTP server whose /healthz answers with the status the test sets."""
    status = {"code": 200}

    async def healthz(_request: web.Request) -> web.Response:
        return web.json_response({"ok": status["code"] == 200}, status=status["code"])

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app[STATUS] = status
    async with TestServer(app, host="127.0.0.1", port=free_port()) as running:
        yield running


async def test_healthy_on_200_and_unhealthy_on_503_whatever_the_proxy(
    server: TestServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The body is reported either way; a proxy set in the environment is not used."""
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")
    assert server.port is not None
    web_config = WebConfig(host="0.0.0.0", port=server.port)
    verdict = await asyncio.to_thread(check, web_config, 5.0)
    assert verdict.healthy and json.loads(verdict.report) == {"ok": True}
    server.app[STATUS]["code"] = 503
    verdict = await asyncio.to_thread(check, web_config, 5.0)
    assert not verdict.healthy and verdict.report.endswith('/healthz: 503 {"ok": false}')


def test_nobody_listening_is_unhealthy_and_web_off_is_healthy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Exit 1 naming the address when nothing answers, or without a configuration (never
    Docker's reserved 2); exit 0 when the web server is off, so a supervisor never holds the
    bot for sick because it has no endpoint."""
    path = tmp_path / "bot.yaml"
    base = 'matrix: {homeserver: "http://h", user_id: "@b:h", password: x}\nrooms: ["!r:h"]\n'
    path.write_text(base + f"web: {{port: {free_port()}}}\n")
    assert main(["healthcheck", "--config", str(path)]) == 1
    assert "/healthz: no answer (" in capsys.readouterr().err
    path.write_text(base + "web: {port: 0}\n")
    assert main(["healthcheck", "--config", str(path)]) == 0
    assert "web server off" in capsys.readouterr().out
    assert main(["healthcheck", "--config", str(tmp_path / "missing.yaml")]) == 1


def test_the_config_path_comes_from_bot_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """BOT_CONFIG moves the default file of every command, so the image's health check reads
    the file the bot runs with."""
    path = tmp_path / "elsewhere.yaml"
    path.write_text('matrix: {homeserver: "http://h", user_id: "@b:h", password: x}\n'
                    'rooms: ["!r:h"]\nweb: {port: 0}\n')  # fmt: skip
    monkeypatch.setenv("BOT_CONFIG", str(path))
    assert main(["healthcheck"]) == 0
    assert main(["check-config", "--file-only"]) == 0
    assert f"{path}: valid" in capsys.readouterr().out
