"""Against a peer: ssphub-bot and matrix-reminder-bot answering commands on one local Synapse.

Both bots run as real subprocesses, in the same run, on the same homeserver: ours with
``ssphub-bot run`` (SQLite, end-to-end encryption on, the defaults it ships with: pacing and
per-member rate limit), the peer with its own entry point and configuration
(matrix-reminder-bot 0.4.0 from PyPI, SQLite, its nio client always has encryption on). Each
has its own unencrypted room with the same members, who send ours ``!ping`` and the peer
``!help`` (the cheapest command of each: a fixed answer) and time send -> answer seen; the
answer is the responder's next message in that room (the peer's does not quote the command).
The floor is a bare nio client answering every message at once (as in command_latency.py):
what any bot costs at least. Rounds are interleaved, the order rotating each round, spaced a
little over a second apart with members taking turns (``crowd.py``), so machine drift hits all
three alike and our defaults hold. Then bursts: five members send a command to each at the same
instant, timed to the fifth answer. After the run, each bot idles a few seconds and its VmRSS
(median of a few samples) and VmHWM (peak since spawn) are read from /proc.

The peer is installed by this script into its own virtual environment (``python -m venv``,
then pip), under the user's cache directory unless ``--venv`` says otherwise, and reused when
it is already there (bench/peerbot.py, shared with footprint.py).

    python bench/peer.py [--commands 100] [--bursts 5] [--venv DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

from command_latency import percentile
from crowd import BURST, BURST_REST, burst, gather_in, members_needed, shipped_defaults, spaced
from peerbot import PEER, PEER_PASSWORD, PEER_VERSION, default_venv, peer_process, peer_venv
from processes import (
    Memory,
    Process,
    member,
    memory,
    new_bot,
    room_with,
    sampled,
    stopped,
    synapse_pid,
)

from bot.matrix.member import Member, Seen
from bot.sandbox.synapse import LocalSynapse

READY_TIMEOUT = 90.0
REPLY_TIMEOUT = 30.0
WARM_UP = 10


# --- round trips ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """Who is asked what, where; ``responder`` is the account whose next message answers."""

    name: str
    room: str
    body: str
    responder: str


def answered(seen: list[Seen], target: Target) -> bool:
    """Whether the target's responder spoke in its room among ``seen``."""
    return any(s.sender == target.responder and s.room_id == target.room for s in seen)


async def round_trip(alice: Member, target: Target, timeout: float = REPLY_TIMEOUT) -> float:
    """Milliseconds from sending the target's command to seeing its responder's next message."""
    mark = len(alice.seen)
    start = time.perf_counter()
    await alice.send_text(target.room, target.body)
    await alice.wait_until(lambda: answered(alice.seen[mark:], target), timeout=timeout)
    return (time.perf_counter() - start) * 1000


async def first_answer(process: Process, alice: Member, target: Target) -> str:
    """A just-started bot's first answer (its text); fail at once if the bot exits instead."""
    mark = len(alice.seen)
    trip = asyncio.create_task(round_trip(alice, target, timeout=READY_TIMEOUT))
    exit_ = asyncio.create_task(process.wait())
    done, pending = await asyncio.wait({trip, exit_}, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    if exit_ in done:
        raise RuntimeError(f"{process.name} exited ({exit_.result()})\n{process.tail()}")
    trip.result()
    return next(s.body for s in alice.seen[mark:] if answered([s], target))


async def interleaved(
    crowd: list[Member], targets: list[Target], commands: int
) -> dict[str, list[float]]:
    """``commands`` round trips to each target after a warm-up, spaced, members in turn, the
    order of the targets rotating each round."""
    times: dict[str, list[float]] = {target.name: [] for target in targets}

    async def warm_up(n: int) -> None:
        for target in targets:
            await round_trip(crowd[n % len(crowd)], target)

    async def step(n: int) -> None:
        shift = n % len(targets)
        for target in targets[shift:] + targets[:shift]:
            times[target.name].append(await round_trip(crowd[n % len(crowd)], target))

    await spaced(WARM_UP, warm_up)
    await spaced(commands, step)
    return times


async def bursts(crowd: list[Member], targets: list[Target], count: int) -> dict[str, list[float]]:
    """``count`` bursts to each target: five members at the same instant, to the fifth answer
    (seen by the first member)."""
    times: dict[str, list[float]] = {target.name: [] for target in targets}
    five = crowd[:BURST]
    for _ in range(count):
        await asyncio.sleep(BURST_REST)
        for target in targets:
            answered = fifth_answer(five[0], target)
            times[target.name].append(await burst(five, target.room, target.body, answered))
    return times


def fifth_answer(observer: Member, target: Target) -> Callable[[Member, str], Awaitable[None]]:
    """For ``burst``: returns, for the observer, once the target's responder has spoken five
    times from now on (the peer's answers do not quote the command); at once for the others."""
    mark = len(observer.seen)

    async def answered(who: Member, _event_id: str) -> None:
        if who is observer:
            await who.wait_until(
                lambda: spoken(observer.seen[mark:], target) >= BURST, REPLY_TIMEOUT
            )

    return answered


def spoken(seen: list[Seen], target: Target) -> int:
    """How many times the target's responder spoke in its room among ``seen``."""
    return sum(1 for s in seen if s.sender == target.responder and s.room_id == target.room)


# --- the run -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Figures:
    commands: int
    times: dict[str, list[float]]
    bursts: dict[str, list[float]]
    idle: dict[str, Memory]
    synapse: Memory
    first_answers: dict[str, str]


async def idle_after(processes: dict[str, Process]) -> dict[str, Memory]:
    """Each process's memory once the run is over, sampled at the same time."""
    taken = await asyncio.gather(*(sampled(process.pid) for process in processes.values()))
    return dict(zip(processes, taken, strict=True))


async def measure(commands: int, count: int, bin_dir: Path, base: Path) -> Figures:
    async with LocalSynapse(base / "synapse", relaxed_rate_limits=True) as synapse:
        crowd = [
            member(synapse, await synapse.register(f"member{n}", f"member{n}"), base)
            for n in range(members_needed())
        ]
        echo = member(synapse, await synapse.register("echo", "echo"), base)
        echo.answer_every_text("pong")
        for who in [echo, *crowd]:
            await who.start()
        try:
            return await with_bots(synapse, crowd, echo, (commands, count), bin_dir, base)
        finally:
            for who in [echo, *crowd]:
                await who.stop()


async def with_bots(
    synapse: LocalSynapse,
    crowd: list[Member],
    echo: Member,
    counts: tuple[int, int],
    bin_dir: Path,
    base: Path,
) -> Figures:
    """Start both bots, time the round trips and the bursts, read the bots' memory, stop them."""
    alice = crowd[0]
    ours = await new_bot(synapse, alice, base, "ssphub")
    peer_user = await synapse.register("reminder", PEER_PASSWORD)
    peer_room = await room_with(synapse, alice, peer_user)
    floor_room = await alice.create_room(invite=[echo.user_id], encrypted=False)
    await echo.join(floor_room)
    for room_id in (ours.room, peer_room, floor_room):
        await gather_in(alice, room_id, crowd[1:])
    targets = [
        Target("ssphub-bot", ours.room, "!ping", ours.user.user_id),
        Target(PEER, peer_room, "!help", peer_user.user_id),
        Target("floor", floor_room, "ping", echo.user_id),
    ]
    processes = {
        "ssphub-bot": ours.process(),
        PEER: peer_process(bin_dir, synapse.url, peer_user, base),
    }
    first: dict[str, str] = {}
    try:
        for target in targets[:2]:
            await processes[target.name].start()
            first[target.name] = await first_answer(processes[target.name], alice, target)
        times = await interleaved(crowd, targets, counts[0])
        burst_times = await bursts(crowd, targets, counts[1])
        idle = await idle_after(processes)
        homeserver = memory(synapse_pid(synapse))
    finally:
        await stopped(processes["ssphub-bot"])
        await stopped(processes[PEER], expected=(0, -signal.SIGTERM))
    return Figures(counts[0], times, burst_times, idle, homeserver, first)


def report(f: Figures) -> None:
    ours = f"ssphub-bot {version('ssphub-bot')} (!ping)"
    labels = {"ssphub-bot": ours, PEER: f"{PEER} {PEER_VERSION} (!help)",
              "floor": "floor: bare nio client (echo)"}  # fmt: skip
    print(f"ssphub-bot: {shipped_defaults()}")
    print(f"command round trip on one local Synapse, {f.commands} commands each, interleaved,")
    print("unencrypted rooms; milliseconds, and MiB of each bot process idle after the run")
    print(f"{'':38}{'p50':>8}{'p95':>8}{'p99':>8}{'mean':>8}{'VmRSS':>9}{'VmHWM':>9}")
    for name, values in f.times.items():
        cells = [percentile(values, q) for q in (50, 95, 99)] + [statistics.fmean(values)]
        used = f.idle.get(name)
        rss = f"{used.rss_kib / 1024:9.1f}{used.hwm_kib / 1024:9.1f}" if used else f"{'-':>9}" * 2
        print(f"{labels[name]:38}" + "".join(f"{v:8.1f}" for v in cells) + rss)
    print(f"{'Synapse, the homeserver':70}{f.synapse.rss_kib / 1024:9.1f}"
          f"{f.synapse.hwm_kib / 1024:9.1f}")  # fmt: skip
    floor = percentile(f.times["floor"], 50)
    ratios = ", ".join(f"{name} {percentile(f.times[name], 50) / floor:.2f}"
                       for name in ("ssphub-bot", PEER))  # fmt: skip
    print(f"p50 over the floor: {ratios}")
    floor95 = percentile(f.times["floor"], 95)
    ratios = ", ".join(f"{name} {percentile(f.times[name], 95) / floor95:.2f}"
                       for name in ("ssphub-bot", PEER))  # fmt: skip
    print(f"p95 over the floor: {ratios}")
    report_bursts(f.bursts, labels, f.times["floor"])
    for name, body in f.first_answers.items():
        print(f"first answer of {name}: {body[:70]!r}")


def report_bursts(
    times: dict[str, list[float]], labels: dict[str, str], floor_times: list[float]
) -> None:
    """The bursts: five members at one instant, milliseconds to the fifth answer."""
    if not any(times.values()):
        return
    print(f"burst: {BURST} members send at the same instant, milliseconds to the last answer, "
          f"{len(times['floor'])} bursts each")  # fmt: skip
    print(f"{'':38}{'p50':>8}{'max':>8}")
    for name, values in times.items():
        print(f"{labels[name]:38}{percentile(values, 50):8.1f}{max(values):8.1f}")
    floor = percentile(times["floor"], 50)
    ratios = ", ".join(f"{name} {percentile(times[name], 50) / floor:.2f}"
                       for name in ("ssphub-bot", PEER))  # fmt: skip
    print(f"burst p50 over the floor's burst: {ratios} (target <= 2.00)")
    single = percentile(floor_times, 50)
    ratios = ", ".join(f"{name} {percentile(times[name], 50) / single:.2f}"
                       for name in ("ssphub-bot", PEER))  # fmt: skip
    print(f"burst p50 over the floor's single round trip p50 ({single:.1f} ms): {ratios}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commands", type=int, default=100, help="round trips per target")
    parser.add_argument("--bursts", type=int, default=5, help="bursts of five per target")
    parser.add_argument("--venv", type=Path, default=default_venv(), help="the peer's venv")
    args = parser.parse_args()
    bin_dir, took = peer_venv(args.venv.expanduser().absolute())
    how = "reused" if took is None else f"installed in {took:.0f} s"
    print(f"{PEER} {PEER_VERSION}: {bin_dir.parent} ({how})")
    with tempfile.TemporaryDirectory(prefix="ssphub-bench-") as tmp:
        figures = asyncio.run(measure(args.commands, args.bursts, bin_dir, Path(tmp)))
    report(figures)


if __name__ == "__main__":
    main()
