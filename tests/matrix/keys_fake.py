"""An in-memory stand-in for the keys endpoints and account data of one account.

It checks what Synapse checks (signatures of uploaded keys, the password stage when keys are
replaced) and records every call, so that unit tests can count requests and writes. The real
endpoints are exercised against Synapse in the homeserver tier.
"""

from __future__ import annotations

import copy
from typing import Any

import aiohttp

from bot.matrix.keysapi import AuthenticationNeeded, KeysApiError
from bot.matrix.signedjson import SigningKey, signed_by

USER = "@bot:localhost"
WRITES = ("upload_cross_signing_keys", "upload_signatures", "set_account_data")


def device_keys(device_id: str, device_key: SigningKey, user_id: str = USER) -> dict[str, Any]:
    """A device's keys, self-signed, as a client uploads them."""
    body = {
        "user_id": user_id,
        "device_id": device_id,
        "algorithms": ["m.olm.v1.curve25519-aes-sha2", "m.megolm.v1.aes-sha2"],
        "keys": {f"ed25519:{device_id}": device_key.public, f"curve25519:{device_id}": "c"},
    }
    signatures = {user_id: {f"ed25519:{device_id}": device_key.sign(body)}}
    return {**body, "signatures": signatures}


def _public(key_object: dict[str, Any]) -> str:
    return str(next(iter(key_object["keys"].values())))


class FakeKeysApi:
    """One account's devices, cross-signing keys and account data; every call recorded."""

    def __init__(self, user_id: str = USER, password: str = "secret") -> None:
        self.user_id = user_id
        self.password = password
        self.devices: dict[str, dict[str, Any]] = {}
        self.cross_signing: dict[str, dict[str, Any]] = {}
        self.account: dict[str, dict[str, Any]] = {}
        self.calls: list[str] = []
        self.unreachable: set[str] = set()  # methods that raise a network error
        self.password_always = False  # like a server asking for UIA even for a first upload

    def add_device(self, device_id: str, device_key: SigningKey) -> None:
        self.devices[device_id] = device_keys(device_id, device_key, self.user_id)

    def writes(self) -> list[str]:
        return [call for call in self.calls if call in WRITES]

    def _enter(self, name: str) -> None:
        self.calls.append(name)
        if name in self.unreachable:
            raise aiohttp.ClientConnectionError("connection refused")

    async def query_keys(self, user_id: str) -> dict[str, Any]:
        self._enter("query_keys")
        answer: dict[str, Any] = {"device_keys": {user_id: copy.deepcopy(self.devices)}}
        for usage in ("master", "self_signing"):
            if usage in self.cross_signing:
                answer[f"{usage}_keys"] = {user_id: copy.deepcopy(self.cross_signing[usage])}
        return answer

    async def upload_cross_signing_keys(self, keys: dict[str, Any], password: str | None) -> None:
        self._enter("upload_cross_signing_keys")
        if self.cross_signing or self.password_always:
            if password is None:
                raise AuthenticationNeeded([["m.login.password"]], with_password=False)
            if password != self.password:
                raise KeysApiError("cross-signing keys upload", 401, {"errcode": "M_FORBIDDEN"})
        master = _public(keys["master_key"])
        for usage in ("self_signing", "user_signing"):
            if not signed_by(keys[f"{usage}_key"], self.user_id, master):
                raise KeysApiError("upload", 400, {"errcode": "M_INVALID_SIGNATURE"})
        self.cross_signing = {usage: keys[f"{usage}_key"] for usage in ("master", "self_signing")}

    async def upload_signatures(self, signed: dict[str, Any]) -> None:
        self._enter("upload_signatures")
        ssk = _public(self.cross_signing["self_signing"])
        for device_id, device in signed[self.user_id].items():
            stored = self.devices[device_id]
            same = {k: v for k, v in device.items() if k != "signatures"} == {
                k: v for k, v in stored.items() if k != "signatures"
            }
            if not same or not signed_by(device, self.user_id, ssk):
                raise KeysApiError("signature upload", 200, {"errcode": "M_INVALID_SIGNATURE"})
            stored["signatures"][self.user_id][f"ed25519:{ssk}"] = device["signatures"][
                self.user_id
            ][f"ed25519:{ssk}"]

    async def account_data(self, event_type: str) -> dict[str, Any] | None:
        self._enter("account_data")
        found = self.account.get(event_type)
        return copy.deepcopy(found) if found is not None else None

    async def set_account_data(self, event_type: str, content: dict[str, Any]) -> None:
        self._enter("set_account_data")
        self.account[event_type] = copy.deepcopy(content)
