"""The identity step of the bot's start, right after log-in and before the first command.

The device is checked (and signed when needed) once; while the homeserver does not answer, the
check is tried again in the background. Each outcome is kept for ``!statut`` and the metrics.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from nio import AsyncClient

from bot.matrix.identity import Identity, IdentitySettings
from bot.matrix.keysapi import KeysApi
from bot.supervise import TaskSet
from bot.trust import DeviceTrust, Problem

RETRY_SECONDS = 30.0
RETRY_CAP_SECONDS = 600.0


class IdentityKeeper:
    """Keeps the bot's device cross-signed; ``trust`` is the latest outcome (None: not
    checked, as with encryption off)."""

    def __init__(
        self,
        client: AsyncClient,
        settings: IdentitySettings,
        report: Callable[[bool], None],
        retry_seconds: float = RETRY_SECONDS,
    ) -> None:
        self.client = client
        self.settings = settings
        self.report = report
        self.tasks = TaskSet()
        self.retry_seconds = retry_seconds
        self.trust: DeviceTrust | None = None
        self._retrying: asyncio.Task[None] | None = None

    def identity(self) -> Identity | None:
        """The identity as this device sees it; None without encryption."""
        olm = self.client.olm
        if olm is None:
            return None
        device_key = olm.account.identity_keys["ed25519"]
        return Identity(KeysApi(self.client), self.settings, self.client.device_id, device_key)

    async def start(self) -> DeviceTrust | None:
        """Check and sign now; keep trying in the background while the homeserver is away."""
        identity = self.identity()
        if identity is None:
            return None
        self._record(await identity.ensure_signed())
        if self.unreachable:
            self._retrying = self.tasks.spawn(self._retry(identity), name="cross-signing")
        return self.trust

    async def stop(self) -> None:
        if self._retrying is not None:
            self._retrying.cancel()
            await asyncio.gather(self._retrying, return_exceptions=True)

    @property
    def signed(self) -> bool:
        return self.trust is not None and self.trust.signed

    @property
    def unreachable(self) -> bool:
        return self.trust is not None and self.trust.problem is Problem.UNREACHABLE

    def _record(self, trust: DeviceTrust) -> None:
        self.trust = trust
        self.report(trust.signed)

    async def _retry(self, identity: Identity) -> None:
        delay = self.retry_seconds
        while self.unreachable:
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_CAP_SECONDS)
            self._record(await identity.ensure_signed())
