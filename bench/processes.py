"""What the benchmarks share: child processes with timed output, their memory from /proc, member
clients and rooms on the local Synapse, and a bot account with its configuration file."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import statistics
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import aiohttp
from aiohttp import web

from bot.config import Config, parse_config
from bot.matrix.member import Member
from bot.sandbox.synapse import LocalSynapse, SynapseUser

BOT_COMMAND = Path(sys.executable).with_name("ssphub-bot")
BOT_PASSWORD = "bench-bot"
STOP_TIMEOUT = 20.0
TAIL_LINES = 30
SETTLE = 3.0  # seconds a process idles before its memory is sampled
SAMPLES = 5


# --- processes -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Memory:
    """Resident set size now and its peak, in KiB, as /proc tells them."""

    rss_kib: int
    hwm_kib: int


def memory(pid: int) -> Memory:
    """VmRSS and VmHWM of a live process."""
    fields: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0])
    return Memory(fields["VmRSS"], fields["VmHWM"])


def cpu_seconds(pid: int) -> float:
    """The processor time a live process has used so far, user and system."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def median_memory(samples: Sequence[Memory]) -> Memory:
    """The median RSS of the samples, with the highest peak among them."""
    rss = int(statistics.median(sample.rss_kib for sample in samples))
    return Memory(rss, max(sample.hwm_kib for sample in samples))


def synapse_pid(synapse: LocalSynapse) -> int:
    """The homeserver's process id, from the pid file it writes."""
    return int((synapse.base_dir / "homeserver.pid").read_text().strip())


def _signal_group(pid: int, signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signum)


class Process:
    """A child process in its own session; its merged output is kept line by line, timed."""

    def __init__(self, name: str, argv: Sequence[str], cwd: Path) -> None:
        self.name = name
        self.argv = list(argv)
        self.cwd = cwd
        self.lines: list[tuple[float, str]] = []
        self._process: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        self._new = asyncio.Event()

    @property
    def pid(self) -> int:
        if self._process is None:
            raise RuntimeError(f"{self.name} is not running")
        return self._process.pid

    async def start(self) -> float:
        """Spawn the process; the moment of the spawn, on the ``time.perf_counter`` clock."""
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        spawned = time.perf_counter()
        self._process = await asyncio.create_subprocess_exec(
            *self.argv,
            cwd=self.cwd,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
            limit=2**20,
        )
        assert self._process.stdout is not None
        self._reader = asyncio.create_task(self._read(self._process.stdout))
        return spawned

    async def _read(self, stream: asyncio.StreamReader) -> None:
        while line := await stream.readline():
            self.lines.append((time.perf_counter(), line.decode(errors="replace").rstrip()))
            self._new.set()
        self._new.set()

    async def wait(self) -> int:
        """The exit status, once the process has ended by itself."""
        if self._process is None:
            raise RuntimeError(f"{self.name} is not running")
        return await self._process.wait()

    def tail(self, lines: int = TAIL_LINES) -> str:
        """The last lines of the output, for an error message."""
        return "\n".join(text for _, text in self.lines[-lines:]) or "(no output)"

    async def first_line(self, text: str, timeout: float) -> float:
        """When the first output line containing ``text`` arrived; raise if none comes."""
        try:
            async with asyncio.timeout(timeout):
                return await self._line(text)
        except TimeoutError:
            message = f"{self.name}: no {text!r} within {timeout:g} s\n{self.tail()}"
            raise TimeoutError(message) from None

    async def _line(self, text: str) -> float:
        while True:
            self._new.clear()
            for moment, line in self.lines:
                if text in line:
                    return moment
            if self._reader is None or self._reader.done():
                raise RuntimeError(f"{self.name} exited before {text!r}\n{self.tail()}")
            await self._new.wait()

    async def stop(self) -> int | None:
        """SIGTERM to its process group, SIGKILL after a bounded wait; the exit status."""
        process, self._process = self._process, None
        if process is None:
            return None
        if process.returncode is None:
            _signal_group(process.pid, signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), STOP_TIMEOUT)
            except TimeoutError:
                print(f"note: {self.name} ignored SIGTERM, killed", file=sys.stderr)
                _signal_group(process.pid, signal.SIGKILL)
                await process.wait()
        if self._reader is not None:
            await asyncio.wait([self._reader], timeout=STOP_TIMEOUT)
        return process.returncode


async def stopped(process: Process, expected: Sequence[int] = (0,)) -> None:
    """Stop ``process`` and say so when it exits with an unexpected status."""
    status = await process.stop()
    if status is not None and status not in expected:
        note = f"note: {process.name} exited with status {status}\n{process.tail()}"
        print(note, file=sys.stderr)


# --- Matrix --------------------------------------------------------------------------------------


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def join_as(homeserver: str, user: SynapseUser, room_id: str) -> None:
    """Join ``room_id`` with the account's own token, so the bot is in the room before it runs."""
    url = f"{homeserver}/_matrix/client/v3/join/{quote(room_id, safe='')}"
    headers = {"Authorization": f"Bearer {user.access_token}"}
    async with aiohttp.ClientSession() as http, http.post(url, json={}, headers=headers) as answer:
        if answer.status != 200:
            raise RuntimeError(f"{user.user_id} cannot join {room_id}: {await answer.text()}")


def member(
    synapse: LocalSynapse, user: SynapseUser, base: Path, *, encryption: bool = False
) -> Member:
    """A member client, without end-to-end encryption unless asked (most rooms here are plain)."""
    return Member(
        synapse.url, user.user_id, user.device_id, user.access_token,
        base / "members" / user.localpart, encryption=encryption,
    )  # fmt: skip


async def room_with(
    synapse: LocalSynapse, owner: Member, guest: SynapseUser, *, encrypted: bool = False
) -> str:
    """A new room of ``owner`` (unencrypted unless asked) that ``guest`` has joined."""
    room = await owner.create_room(invite=[guest.user_id], encrypted=encrypted)
    await join_as(synapse.url, guest, room)
    return room


async def reply_seen(who: Member, room_id: str, event_id: str, timeout: float) -> float:
    """When ``who`` saw the answer to ``event_id``."""
    await who.wait_for_reply(room_id, event_id, timeout=timeout)
    return time.perf_counter()


# --- the bot -------------------------------------------------------------------------------------


def bot_yaml(
    homeserver: str, user: SynapseUser, room: str, data_dir: Path, web_port: int, extra: str = ""
) -> str:
    """The bot's configuration: production defaults but for the accounts and addresses."""
    return f"""\
matrix: {{homeserver: "{homeserver}", user_id: "{user.user_id}", password: "{BOT_PASSWORD}"}}
rooms: ["{room}"]
data_dir: "{data_dir}"
web: {{port: {web_port}}}
{extra}"""


@dataclass(frozen=True)
class Bot:
    """A bot account in a room with the member, with its configuration file and web port."""

    user: SynapseUser
    room: str
    config_path: Path
    web_port: int

    def config(self) -> Config:
        """The configuration as the bot reads it."""
        return parse_config(self.config_path.read_text(), source="bench", environ={})

    def process(self, command: Path = BOT_COMMAND) -> Process:
        """``ssphub-bot run`` on this configuration, not started yet."""
        argv = [str(command), "run", "--config", str(self.config_path)]
        return Process(self.user.localpart, argv, self.config_path.parent)


async def new_bot(
    synapse: LocalSynapse,
    alice: Member,
    base: Path,
    name: str,
    extra: str = "",
    *,
    encrypted: bool = False,
) -> Bot:
    """A fresh bot account in a fresh room with ``alice``, and a fresh data directory."""
    user = await synapse.register(name, BOT_PASSWORD)
    room = await room_with(synapse, alice, user, encrypted=encrypted)
    home = base / name
    home.mkdir(parents=True)
    port = free_port()
    config_path = home / "config.yaml"
    config_path.write_text(bot_yaml(synapse.url, user, room, home / "data", port, extra))
    return Bot(user, room, config_path, port)


async def sampled(pid: int) -> Memory:
    """The median of a few RSS samples a second apart, after a short settling wait."""
    await asyncio.sleep(SETTLE)
    samples = []
    for _ in range(SAMPLES):
        samples.append(memory(pid))
        await asyncio.sleep(1)
    return median_memory(samples)


@contextlib.asynccontextmanager
async def http_server(
    route: str, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> AsyncIterator[str]:
    """``handler`` answering GET ``route`` on a free loopback port; the server's base URL."""
    app = web.Application()
    app.router.add_get(route, handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()
