"""End-to-end checks of the local Synapse harness against a real homeserver."""

from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.sandbox.synapse import LocalSynapse, SynapseUser
from tests.homeserver_fixtures import new_user

pytestmark = pytest.mark.homeserver


async def _call(
    server: LocalSynapse, method: str, path: str, user: SynapseUser | None, body: Any = None
) -> tuple[int, dict[str, Any]]:
    """Send one client-API request, as `user` when given, and return status and JSON body."""
    headers = {"Authorization": f"Bearer {user.access_token}"} if user else {}
    async with (
        aiohttp.ClientSession(server.url, headers=headers) as http,
        http.request(method, path, json=body) as response,
    ):
        return response.status, await response.json()


async def _whoami(server: LocalSynapse, user: SynapseUser) -> dict[str, Any]:
    """Return the /account/whoami answer for `user`'s access token."""
    status, body = await _call(server, "GET", "/_matrix/client/v3/account/whoami", user)
    assert status == 200, body
    return body


async def _send_until_limited(
    server: LocalSynapse, user: SynapseUser, count: int
) -> list[tuple[int, dict[str, Any]]]:
    """Create a room as `user` and send up to `count` texts back to back, stopping at a 429."""
    status, room = await _call(server, "POST", "/_matrix/client/v3/createRoom", user, {})
    assert status == 200, room
    answers: list[tuple[int, dict[str, Any]]] = []
    for txn in range(count):
        path = f"/_matrix/client/v3/rooms/{room['room_id']}/send/m.room.message/t{txn}"
        answers.append(await _call(server, "PUT", path, user, {"msgtype": "m.text", "body": "hi"}))
        if answers[-1][0] == 429:
            break
    return answers


async def test_fixture_server_answers_versions(synapse: LocalSynapse) -> None:
    """The session homeserver answers /versions on a loopback URL."""
    status, body = await _call(synapse, "GET", "/_matrix/client/versions", None)
    assert synapse.url.startswith("http://127.0.0.1:")
    assert status == 200 and body["versions"]


async def test_registered_user_has_working_token(synapse: LocalSynapse) -> None:
    """A freshly registered user's access token identifies that user on /whoami."""
    user = await new_user(synapse, "alice")
    assert user.user_id == f"@{user.localpart}:{synapse.server_name}"
    assert (await _whoami(synapse, user))["user_id"] == user.user_id


async def test_registering_existing_user_logs_in_on_given_device(synapse: LocalSynapse) -> None:
    """Registering a taken localpart logs that user in instead, on the requested device."""
    first = await new_user(synapse, "bob")
    again = await synapse.register(first.localpart, first.password, device_id="BENCHDEVICE")
    assert (again.user_id, again.device_id) == (first.user_id, "BENCHDEVICE")
    assert (await _whoami(synapse, again))["device_id"] == "BENCHDEVICE"


async def test_strict_server_rate_limits_a_burst_of_sends(tmp_path: Path) -> None:
    """Without relaxed limits, a burst of 20 messages meets 429 M_LIMIT_EXCEEDED with a delay."""
    async with LocalSynapse(tmp_path, relaxed_rate_limits=False) as strict:
        user = await strict.register("sender", "secret-password")
        answers = await _send_until_limited(strict, user, 20)
    limited = [body for status, body in answers if status == 429]
    assert limited, [status for status, _ in answers]
    assert limited[0]["errcode"] == "M_LIMIT_EXCEEDED"
    assert limited[0]["retry_after_ms"] > 0


async def test_warm_restart_keeps_users(tmp_path: Path) -> None:
    """A new harness started on a stopped server's directory keeps its users and their tokens."""
    async with LocalSynapse(tmp_path) as first_run:
        user = await first_run.register("carol", "secret-password")
    async with LocalSynapse(tmp_path) as second_run:
        assert (await _whoami(second_run, user))["user_id"] == user.user_id
        again = await second_run.register("carol", "secret-password")
    assert again.user_id == user.user_id
