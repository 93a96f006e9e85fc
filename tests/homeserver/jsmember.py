"""A member on Element's crypto engine: matrix-js-sdk with its Rust crypto, run by Node.

Each ``JsMember`` is one Node process (``jsclient/member.mjs``) answering JSON lines. Its npm
dependencies are installed from the committed lockfile (``npm ci``) on first use.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.sandbox.synapse import SynapseUser

CLIENT_DIR = Path(__file__).parent / "jsclient"
SCRIPT = CLIENT_DIR / "member.mjs"
ALL_DEVICES = "all"  # Element's default
ONLY_SIGNED = "signed"  # "exclude insecure devices" (MSC4153)
MARGIN_SECONDS = 15  # beyond the client's own timeout, before the driver gives up
_STREAM_LIMIT = 4 * 1024 * 1024


def install_client() -> None:
    """``npm ci`` unless node_modules matches the lockfile; a clear error without Node."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        raise RuntimeError("the Element-crypto tests need Node.js 20 or later and npm on PATH")
    lock = CLIENT_DIR / "package-lock.json"
    installed = CLIENT_DIR / "node_modules" / ".package-lock.json"
    if installed.exists() and installed.stat().st_mtime >= lock.stat().st_mtime:
        return
    subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=CLIENT_DIR, check=True, capture_output=True, timeout=600,
    )  # fmt: skip


@dataclass(frozen=True)
class Shown:
    """An event as the member's client shows it: text, decryption, and the shield beside it."""

    event_id: str
    sender: str
    body: str | None
    content: dict[str, Any]
    encrypted: bool
    decrypted: bool
    failure: str | None
    shield: str | None
    shield_reason: str | None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Shown:
        return cls(
            data["eventId"], data["sender"], data["body"], data["content"] or {},
            data["encrypted"], data["decrypted"], data["failure"], data["shield"],
            data["shieldReason"],
        )  # fmt: skip


class JsMember:
    """One member's client; every method is one request to the Node process."""

    def __init__(self, user: SynapseUser, process: asyncio.subprocess.Process) -> None:
        self.user = user
        self.process = process
        self._ids = itertools.count(1)
        self._lock = asyncio.Lock()

    @property
    def user_id(self) -> str:
        return self.user.user_id

    @classmethod
    async def start(
        cls,
        homeserver: str,
        user: SynapseUser,
        log_path: Path,
        isolation: str = ALL_DEVICES,
        *,
        cross_sign: bool = True,
    ) -> JsMember:
        """A started client (first sync done) in the given device isolation mode; with
        ``cross_sign``, its account has an identity that signs this device, as on Tchap."""
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with log_path.open("ab") as log:
            process = await asyncio.create_subprocess_exec(
                "node", str(SCRIPT), cwd=CLIENT_DIR, limit=_STREAM_LIMIT,
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=log,
            )  # fmt: skip
        member = cls(user, process)
        try:
            await member._ready()
            await member.call(
                "start", homeserver=homeserver, userId=user.user_id, deviceId=user.device_id,
                accessToken=user.access_token, isolation=isolation, password=user.password,
                crossSign=cross_sign,
            )  # fmt: skip
        except BaseException:
            await member.kill()
            raise
        return member

    async def _ready(self) -> None:
        line = await asyncio.wait_for(self._read_line(), timeout=60)
        if not line.get("ready"):
            raise RuntimeError(f"the js member did not start: {line}")

    async def _read_line(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        raw = await self.process.stdout.readline()
        if not raw:
            raise RuntimeError(f"the js member of {self.user_id} exited")
        answer: dict[str, Any] = json.loads(raw)
        return answer

    async def call(self, op: str, timeout_ms: int = 30_000, **arguments: Any) -> Any:
        """Send one request and return its result; the client's error becomes RuntimeError."""
        assert self.process.stdin is not None
        async with self._lock:
            request = {"id": next(self._ids), "op": op, "timeoutMs": timeout_ms, **arguments}
            self.process.stdin.write(json.dumps(request).encode() + b"\n")
            await self.process.stdin.drain()
            limit = timeout_ms / 1000 + MARGIN_SECONDS
            answer = await asyncio.wait_for(self._read_line(), timeout=limit)
        if not answer.get("ok"):
            raise RuntimeError(f"{op} failed in the js member: {answer.get('error')}")
        return answer.get("result")

    async def create_room(self, invite: list[str], *, direct: bool = False) -> str:
        """An encrypted room (a DM when ``direct``) inviting ``invite``."""
        result = await self.call("createRoom", invite=invite, direct=direct, encrypted=True)
        return str(result["roomId"])

    async def join(self, room_id: str) -> None:
        await self.call("join", roomId=room_id)

    async def wait_for_member(self, room_id: str, user_id: str) -> None:
        await self.call("waitForMember", roomId=room_id, userId=user_id)

    async def send_text(self, room_id: str, body: str) -> str:
        return str((await self.call("sendText", roomId=room_id, body=body))["eventId"])

    async def wait_reply(self, room_id: str, event_id: str, timeout_ms: int = 30_000) -> Shown:
        """The decrypted reply to ``event_id`` as the member sees it."""
        result = await self.call("waitReply", timeout_ms, roomId=room_id, eventId=event_id)
        return Shown.from_json(result)

    async def wait_message(
        self, room_id: str, sender: str, contains: str, timeout_ms: int = 30_000
    ) -> Shown:
        """The first decrypted message of ``sender`` containing ``contains``."""
        result = await self.call(
            "waitMessage", timeout_ms, roomId=room_id, sender=sender, contains=contains
        )
        return Shown.from_json(result)

    async def wait_elsewhere(
        self, sender: str, contains: str, except_room: str, timeout_ms: int = 30_000
    ) -> tuple[str, Shown]:
        """The room and first message of ``sender`` containing ``contains`` (or that this
        client could not decrypt) in any room but ``except_room``: a DM the sender opened."""
        result = await self.call(
            "waitElsewhere", timeout_ms, sender=sender, contains=contains, exceptRoomId=except_room
        )
        return str(result["roomId"]), Shown.from_json(result)

    async def count_messages(self, room_id: str, sender: str) -> int:
        """How many messages of ``sender`` the room's timeline holds on the homeserver."""
        return int((await self.call("countMessages", roomId=room_id, sender=sender))["count"])

    async def wait_undecryptable(self, room_id: str, sender: str) -> Shown:
        """The first message of ``sender`` this client could not decrypt."""
        return Shown.from_json(await self.call("waitUndecryptable", roomId=room_id, sender=sender))

    async def user_status(self, user_id: str) -> dict[str, Any]:
        """What the client knows of ``user_id``'s identity and devices."""
        result: dict[str, Any] = await self.call("userStatus", userId=user_id)
        return result

    async def wait_device_signed(self, user_id: str, device_id: str) -> None:
        await self.call("waitDeviceSigned", userId=user_id, deviceId=device_id)

    async def bootstrap_identity(self, passphrase: str | None = None) -> dict[str, Any]:
        """Cross-signing and secret storage set up as Element does; the recovery key within."""
        result: dict[str, Any] = await self.call(
            "bootstrapIdentity", 120_000, passphrase=passphrase
        )
        return result

    async def stop(self) -> None:
        """Stop the client and its process."""
        if self.process.returncode is None:
            with contextlib.suppress(RuntimeError, TimeoutError, ConnectionError):
                await self.call("stop", timeout_ms=5_000)
        await self.kill()

    async def kill(self) -> None:
        if self.process.returncode is None:
            self.process.kill()
        await self.process.wait()
