"""A throwaway Synapse homeserver on 127.0.0.1, for the sandbox command, tests and benchmarks."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

import aiohttp
import yaml

from bot.sandbox.synapse_config import (
    SECRET_KEYS,
    homeserver_config,
    registration_mac,
)
from bot.sandbox.synapse_config import log_config as synapse_log_config

log = logging.getLogger(__name__)

_POLL_INTERVAL = 0.05
_STOP_GRACE = 10.0
_LOG_TAIL_LINES = 40


@dataclass(frozen=True)
class SynapseUser:
    """A registered account with a live access token."""

    user_id: str
    localpart: str
    password: str
    access_token: str
    device_id: str


def _free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _tail(path: Path, lines: int = _LOG_TAIL_LINES) -> str:
    """Return the last `lines` lines of a text file, or a note when it does not exist."""
    if not path.exists():
        return f"({path.name} absent)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def _pid_alive(pid: int, config_path: Path) -> bool:
    """Tell whether `pid` is a live homeserver started with `config_path`."""
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    cmdline = Path(f"/proc/{pid}/cmdline")
    return not cmdline.exists() or str(config_path).encode() in cmdline.read_bytes()


class LocalSynapse:
    """One Synapse process serving the client API on 127.0.0.1, with its state in `base_dir`."""

    def __init__(
        self,
        base_dir: Path,
        *,
        server_name: str = "localhost",
        port: int | None = None,
        relaxed_rate_limits: bool = True,
    ) -> None:
        self.base_dir = Path(base_dir).absolute()
        self.server_name = server_name
        self.relaxed_rate_limits = relaxed_rate_limits
        self.config_path = self.base_dir / "homeserver.yaml"
        self.log_path = self.base_dir / "homeserver.log"
        self.pid_path = self.base_dir / "homeserver.pid"
        self.port = port
        self._process: subprocess.Popen[bytes] | None = None
        self.secrets: dict[str, str] = {}

    @property
    def url(self) -> str:
        """Base URL of the client API, known once a port has been chosen by `start()`."""
        if self.port is None:
            raise RuntimeError("LocalSynapse has no port yet: call start() first")
        return f"http://127.0.0.1:{self.port}"

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def start(self, *, timeout: float = 60) -> None:
        """Write the config, spawn the homeserver and return once the client API answers."""
        if self._process is not None:
            return
        self.base_dir.mkdir(parents=True, exist_ok=True)
        self._clear_stale_pid()
        self._write_config()
        self._spawn()
        try:
            async with asyncio.timeout(timeout):
                await self._wait_ready()
        except TimeoutError:
            await self.stop()
            self._fail(f"did not answer within {timeout:g} s")
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        """Terminate the homeserver (SIGTERM, then SIGKILL after a bounded wait); idempotent."""
        process, self._process = self._process, None
        if process is None:
            return
        self._signal_group(process, signal.SIGTERM)
        try:
            await asyncio.to_thread(process.wait, _STOP_GRACE)
        except subprocess.TimeoutExpired:
            log.warning("homeserver pid %s ignored SIGTERM, killing it", process.pid)
            self._signal_group(process, signal.SIGKILL)
            await asyncio.to_thread(process.wait, _STOP_GRACE)
        self.pid_path.unlink(missing_ok=True)

    async def register(
        self, localpart: str, password: str, *, admin: bool = False, device_id: str | None = None
    ) -> SynapseUser:
        """Create an account via the shared-secret admin API, or log in if it already exists."""
        async with aiohttp.ClientSession(self.url) as http:
            async with http.get("/_synapse/admin/v1/register") as response:
                nonce = (await _json_or_raise(response))["nonce"]
            body = self._registration_body(nonce, localpart, password, admin, device_id)
            async with http.post("/_synapse/admin/v1/register", json=body) as response:
                if (await response.json()).get("errcode") == "M_USER_IN_USE":
                    return await self._login(http, localpart, password, device_id)
                return _user(localpart, password, await _json_or_raise(response))

    def _registration_body(
        self, nonce: str, localpart: str, password: str, admin: bool, device_id: str | None
    ) -> dict[str, Any]:
        """Return the signed request body of a shared-secret registration."""
        secret = self.secrets["registration_shared_secret"]
        return {
            "nonce": nonce,
            "username": localpart,
            "password": password,
            "admin": admin,
            "mac": registration_mac(secret, nonce, localpart, password, admin),
            **_device(device_id),
        }

    async def login(
        self, localpart: str, password: str, *, device_id: str | None = None
    ) -> SynapseUser:
        """Log an existing account in with its password, optionally on a given device."""
        async with aiohttp.ClientSession(self.url) as http:
            return await self._login(http, localpart, password, device_id)

    async def _login(
        self, http: aiohttp.ClientSession, localpart: str, password: str, device_id: str | None
    ) -> SynapseUser:
        body: dict[str, Any] = {
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": localpart},
            "password": password,
            **_device(device_id),
        }
        async with http.post("/_matrix/client/v3/login", json=body) as response:
            return _user(localpart, password, await _json_or_raise(response))

    def _clear_stale_pid(self) -> None:
        """Remove a pid file left by a killed run; refuse to start over a live homeserver."""
        if not self.pid_path.exists():
            return
        pid_text = self.pid_path.read_text().strip()
        if pid_text.isdigit() and _pid_alive(int(pid_text), self.config_path):
            raise RuntimeError(f"a homeserver (pid {pid_text}) already runs in {self.base_dir}")
        self.pid_path.unlink()

    def _write_config(self) -> None:
        """Write homeserver.yaml and its log config, keeping the secrets of an earlier run."""
        previous = yaml.safe_load(self.config_path.read_text()) if self.config_path.exists() else {}
        self.secrets = {key: previous.get(key) or secrets.token_hex(32) for key in SECRET_KEYS}
        if self.port is None:
            self.port = _free_port()
        log_config = self.base_dir / "log_config.yaml"
        log_config.write_text(yaml.safe_dump(synapse_log_config(self.log_path)))
        settings = homeserver_config(
            self.base_dir, self.server_name, self.port, self.secrets,
            relaxed=self.relaxed_rate_limits, log_config=log_config, pid_path=self.pid_path,
        )  # fmt: skip
        self.config_path.write_text(yaml.safe_dump(settings, sort_keys=False))

    def _spawn(self) -> None:
        """Start the homeserver in its own process group, output going to synapse.stdout.

        Synapse's default mode (generate missing files, then run) creates the signing key
        locally on first start, which saves a second 2-3 s interpreter start for --generate-keys.
        """
        command = [sys.executable, "-m", "synapse.app.homeserver", "-c", str(self.config_path)]
        with (self.base_dir / "synapse.stdout").open("ab") as output:
            self._process = subprocess.Popen(
                command,
                cwd=self.base_dir,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.pid_path.write_text(str(self._process.pid))
        log.info("homeserver pid %s starting on %s", self._process.pid, self.url)

    async def _wait_ready(self) -> None:
        """Poll /versions until it answers; raise with the log tail if Synapse exits first."""
        async with aiohttp.ClientSession(self.url) as http:
            while not await _answers(http):
                assert self._process is not None
                if self._process.poll() is not None:
                    self._fail(f"exited with status {self._process.returncode}")
                await asyncio.sleep(_POLL_INTERVAL)

    def _fail(self, reason: str) -> None:
        """Raise a RuntimeError describing why the homeserver did not come up."""
        raise RuntimeError(
            f"Synapse in {self.base_dir} {reason}\n--- homeserver.log ---\n{_tail(self.log_path)}"
            f"\n--- synapse.stdout ---\n{_tail(self.base_dir / 'synapse.stdout')}"
        )

    @staticmethod
    def _signal_group(process: subprocess.Popen[bytes], signum: signal.Signals) -> None:
        """Send `signum` to the homeserver's process group, ignoring one that already exited."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signum)


async def _answers(http: aiohttp.ClientSession) -> bool:
    """Tell whether GET /_matrix/client/versions succeeds now."""
    try:
        async with http.get("/_matrix/client/versions", timeout=aiohttp.ClientTimeout(2)) as resp:
            return resp.status == 200
    except (aiohttp.ClientError, TimeoutError):
        return False


async def _json_or_raise(response: aiohttp.ClientResponse) -> dict[str, Any]:
    """Return the JSON body of a 200 answer, or raise RuntimeError with the Matrix error."""
    body: dict[str, Any] = await response.json()
    if response.status != 200:
        raise RuntimeError(
            f"{response.method} {response.url.path} -> {response.status}: "
            f"{body.get('errcode')} {body.get('error')}"
        )
    return body


def _device(device_id: str | None) -> dict[str, str]:
    """Return the `device_id` request field, or nothing to let Synapse pick a device."""
    return {} if device_id is None else {"device_id": device_id}


def _user(localpart: str, password: str, reply: dict[str, Any]) -> SynapseUser:
    """Build a SynapseUser from a register or login answer."""
    user_id, token, device_id = reply["user_id"], reply["access_token"], reply["device_id"]
    return SynapseUser(user_id, localpart, password, token, device_id)
