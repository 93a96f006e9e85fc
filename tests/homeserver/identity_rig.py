"""Helpers for the identity tests: members on Element's crypto, the published keys as the
homeserver serves them, and the secrets that must never leave the bot."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp

from bot.app import App
from bot.matrix.crosssigning import KeyFile
from bot.matrix.identity import RecoveryKeyFile
from bot.matrix.signedjson import signed_by
from bot.recoverykey import decode_recovery_key
from bot.sandbox.synapse import LocalSynapse, SynapseUser
from bot.trust import DeviceTrust
from tests.homeserver.jsmember import ALL_DEVICES, JsMember

MemberFactory = Callable[..., Awaitable[JsMember]]


@asynccontextmanager
async def js_members(synapse: LocalSynapse, log_dir: Path) -> AsyncIterator[MemberFactory]:
    """Start members on demand (``await start(user, isolation)``); all stopped at the end."""
    started: list[JsMember] = []

    async def start(user: SynapseUser, isolation: str = ALL_DEVICES, **options: Any) -> JsMember:
        log_path = log_dir / f"js-{user.localpart}-{len(started)}.log"
        member = await JsMember.start(synapse.url, user, log_path, isolation, **options)
        started.append(member)
        return member

    try:
        yield start
    finally:
        for member in started:
            await member.stop()


async def keys_query(synapse: LocalSynapse, asker: SynapseUser, user_id: str) -> dict[str, Any]:
    """What the homeserver answers anyone who asks for ``user_id``'s keys."""
    headers = {"Authorization": f"Bearer {asker.access_token}"}
    body = {"device_keys": {user_id: []}}
    async with (
        aiohttp.ClientSession(synapse.url) as http,
        http.post("/_matrix/client/v3/keys/query", json=body, headers=headers) as response,
    ):
        answer: dict[str, Any] = await response.json()
        assert response.status == 200, answer
        return answer


def public_key(key_object: dict[str, Any]) -> str:
    (public,) = key_object["keys"].values()
    return str(public)


def assert_signed_chain(answer: dict[str, Any], user_id: str, device_id: str) -> str:
    """A master key, a self-signing key it signed, and ``device_id`` signed by the latter;
    the master key."""
    master = public_key(answer["master_keys"][user_id])
    self_signing = answer["self_signing_keys"][user_id]
    assert signed_by(self_signing, user_id, master), "self-signing key not signed by master"
    device = answer["device_keys"][user_id][device_id]
    assert signed_by(device, user_id, public_key(self_signing)), f"{device_id} not cross-signed"
    return master


def device_of(app: App) -> str:
    assert app.parts is not None
    return str(app.parts.gateway.client.device_id)


def trust_of(app: App) -> DeviceTrust:
    """The outcome of the running bot's identity step."""
    assert app.parts is not None and app.parts.identity.trust is not None
    return app.parts.identity.trust


def secrets_in(data_dir: Path, user_id: str, extra: Iterable[str] = ()) -> set[str]:
    """Every secret of the bot's identity in the forms it could leak in: the recovery key
    (spaced and bare), the storage key and the private keys in base64 (padded or not)."""
    found = {*extra}
    recovery = RecoveryKeyFile(data_dir).read()
    raw: list[bytes] = []
    if recovery:
        found |= {recovery, recovery.replace(" ", "")}
        raw.append(decode_recovery_key(recovery))
    keys = KeyFile(data_dir, user_id).load()
    if keys is not None:
        raw += [key.seed for key in keys.by_usage().values()]
    for data in raw:
        text = base64.b64encode(data).decode()
        found |= {text, text.rstrip("="), data.hex()}
    return {secret for secret in found if secret}


def assert_no_secret(texts: Iterable[str], secrets: set[str]) -> None:
    """None of ``secrets`` appears in any of ``texts``."""
    assert secrets, "no secret to look for"
    for text in texts:
        leaked = [secret for secret in secrets if secret in text]
        assert not leaked, f"a secret leaked ({len(leaked)} form(s))"


async def identity_made_in_tchap(
    synapse: LocalSynapse, bot: SynapseUser, password: str, start: MemberFactory,
    passphrase: str | None = None,
) -> dict[str, str]:  # fmt: skip
    """The bot's account set up in an Element-based client (as Tchap's apps do): cross-signing
    and secret storage behind a recovery key. What the client reported."""
    session = await synapse.login(bot.localpart, password)
    operator = await start(session, cross_sign=False)
    made = await operator.bootstrap_identity(passphrase)
    await operator.stop()
    assert made["ready"] and made["secretStorageReady"]
    return made
