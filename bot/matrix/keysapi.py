"""The homeserver endpoints of cross-signing and account data, on the nio client's HTTP session.

nio 0.26 has no cross-signing, so these few calls are made here with its ``send`` (same session,
same access token, same timeouts). Network failures propagate as ``aiohttp.ClientError`` or
``TimeoutError``; refusals become ``KeysApiError``.
"""

from __future__ import annotations

import json
from typing import Any, Protocol
from urllib.parse import quote

from nio import AsyncClient

from bot.errors import BotError

PREFIX = "/_matrix/client/v3"
PASSWORD_STAGE = "m.login.password"


class KeysApiError(BotError):
    """The homeserver refused a request; ``errcode`` is its Matrix error code."""

    def __init__(self, what: str, status: int, body: dict[str, Any]) -> None:
        self.status = status
        self.errcode = str(body.get("errcode") or status)
        super().__init__(f"{what} refused: {self.errcode} {body.get('error', '')}".strip())


class AuthenticationNeeded(BotError):
    """The homeserver wants user-interactive authentication the bot cannot give."""

    def __init__(self, stages: list[list[str]], with_password: bool) -> None:
        self.stages = stages
        self.with_password = with_password
        names = " or ".join("+".join(flow) for flow in stages) or "unknown"
        super().__init__(f"the homeserver asks for authentication ({names})")


class KeysEndpoints(Protocol):
    """What the identity needs from the homeserver (``KeysApi``, or a stand-in in tests)."""

    @property
    def user_id(self) -> str: ...

    async def query_keys(self, user_id: str) -> dict[str, Any]: ...

    async def upload_cross_signing_keys(
        self, keys: dict[str, Any], password: str | None
    ) -> None: ...

    async def upload_signatures(self, signed: dict[str, Any]) -> None: ...

    async def account_data(self, event_type: str) -> dict[str, Any] | None: ...

    async def set_account_data(self, event_type: str, content: dict[str, Any]) -> None: ...


class KeysApi:
    """Keys query and upload, signatures upload, and account data for the logged-in user."""

    def __init__(self, client: AsyncClient) -> None:
        self.client = client

    @property
    def user_id(self) -> str:
        return str(self.client.user_id)

    async def _call(
        self, method: str, path: str, body: dict[str, Any] | None = None
    ) -> tuple[int, dict[str, Any]]:
        headers = {
            "Authorization": f"Bearer {self.client.access_token}",
            "Content-Type": "application/json",
        }
        data = None if body is None else json.dumps(body)
        response = await self.client.send(method, PREFIX + path, data, headers=headers)
        async with response:
            try:
                answer = await response.json(content_type=None)
            except ValueError:
                answer = {}
        return response.status, answer if isinstance(answer, dict) else {}

    async def query_keys(self, user_id: str) -> dict[str, Any]:
        """The devices and cross-signing keys ``user_id`` publishes."""
        status, answer = await self._call("POST", "/keys/query", {"device_keys": {user_id: []}})
        if status != 200:
            raise KeysApiError("keys query", status, answer)
        return answer

    async def upload_cross_signing_keys(self, keys: dict[str, Any], password: str | None) -> None:
        """Publish cross-signing keys, answering the password stage when it is asked for."""
        status, answer = await self._call("POST", "/keys/device_signing/upload", keys)
        if status == 401 and "flows" in answer:
            stages = [list(flow.get("stages", [])) for flow in answer["flows"]]
            if password is None or [PASSWORD_STAGE] not in stages:
                raise AuthenticationNeeded(stages, with_password=password is not None)
            auth = self._password_auth(password, answer.get("session"))
            status, answer = await self._call(
                "POST", "/keys/device_signing/upload", {**keys, "auth": auth}
            )
        if status != 200:
            raise KeysApiError("cross-signing keys upload", status, answer)

    def _password_auth(self, password: str, session: Any) -> dict[str, Any]:
        auth: dict[str, Any] = {
            "type": PASSWORD_STAGE,
            "identifier": {"type": "m.id.user", "user": self.user_id},
            "password": password,
        }
        return auth if session is None else {**auth, "session": session}

    async def upload_signatures(self, signed: dict[str, Any]) -> None:
        """Publish signatures; any per-key failure the homeserver reports is an error."""
        status, answer = await self._call("POST", "/keys/signatures/upload", signed)
        failures = answer.get("failures") or {}
        if status != 200 or failures:
            body = answer if status != 200 else _first_failure(failures)
            raise KeysApiError("signature upload", status, body)

    def _account_data_path(self, event_type: str) -> str:
        user = quote(self.user_id, safe="")
        return f"/user/{user}/account_data/{quote(event_type, safe='')}"

    async def account_data(self, event_type: str) -> dict[str, Any] | None:
        """The account data ``event_type`` of the bot's account, None when never set."""
        status, answer = await self._call("GET", self._account_data_path(event_type))
        if status == 404:
            return None
        if status != 200:
            raise KeysApiError(f"reading account data {event_type}", status, answer)
        return answer

    async def set_account_data(self, event_type: str, content: dict[str, Any]) -> None:
        status, answer = await self._call("PUT", self._account_data_path(event_type), content)
        if status != 200:
            raise KeysApiError(f"writing account data {event_type}", status, answer)


def _first_failure(failures: dict[str, Any]) -> dict[str, Any]:
    """One failure of a signatures upload, shaped like an error body."""
    for per_key in failures.values():
        for failure in per_key.values():
            if isinstance(failure, dict):
                return failure
    return {"errcode": "M_UNKNOWN"}
