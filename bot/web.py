"""The bot's small web server: a health check for probes and the container."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Health:
    """One reading of the bot's health."""

    ok: bool
    details: dict[str, object]


HealthCheck = Callable[[], Awaitable[Health]]


def build_app(health: HealthCheck) -> web.Application:
    """The aiohttp application with its routes."""

    async def healthz(_request: web.Request) -> web.Response:
        reading = await health()
        return web.json_response(
            reading.details | {"ok": reading.ok}, status=200 if reading.ok else 503
        )

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    return app


class WebServer:
    """Serves ``build_app`` on the configured address until stopped."""

    def __init__(self, health: HealthCheck, host: str, port: int) -> None:
        self.runner = web.AppRunner(build_app(health), access_log=None)
        self.host, self.port = host, port

    async def start(self) -> None:
        await self.runner.setup()
        await web.TCPSite(self.runner, self.host, self.port).start()
        log.info("web server on http://%s:%d", self.host, self.port)

    async def stop(self) -> None:
        await self.runner.cleanup()
