"""Import time and memory of the bot by top-level package: ``import bot.app`` alone, and a whole
start of ``ssphub-bot run`` to its first handled sync.

The bot is installed as the image installs it (bench/runtime.py: runtime dependencies only, a
wheel with its bytecode; ``--tree`` names another source tree), and each measure runs in a fresh
interpreter of that environment, a child process of this script. Per case: wall time and VmRSS
at the end (median of ``--runs`` plain runs); then one run under ``python -X importtime`` for the
import time of each top-level package (its modules' own time, what they import counted apart);
one run that reads VmRSS before and after each module loads (its own growth, the same way); and
one under ``tracemalloc`` that does the same with the memory Python allocated. "Outside imports"
is the rest of the process's memory: the interpreter, and the data of the start.

``import bot.app`` is what ``ssphub-bot run`` imports. A start runs what it runs (the start-up
checks, then ``App.start``: migrate, seed, log in, cross-sign, first sync, rooms, loops) against
a local Synapse, SQLite, encryption on, the shipped defaults, and reports once ``App.start`` has
returned; cold is a fresh data directory (a new device, its identity made), warm the same
directory again. The heavy packages loaded at each point are listed.

    python bench/imports.py [--runs 3] [--top 12] [--tree DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
WATCHED = (
    "alembic", "dateparser", "babel", "icalendar", "feedparser", "apscheduler", "asyncpg",
    "sqlalchemy.dialects.postgresql", "Crypto", "canonicaljson", "base58", "csv", "yaml",
    "jsonschema", "peewee", "pydantic", "prometheus_client", "nh3",
)  # fmt: skip
IMPORT_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|\s*(\S+)")
CHILD_TIMEOUT = 120.0
PAGE = os.sysconf("SC_PAGE_SIZE")


# --- in the child --------------------------------------------------------------------------------


def rss_bytes() -> int:
    """This process's resident set size."""
    with open("/proc/self/statm", "rb") as statm:
        return int(statm.read().split()[1]) * PAGE


def traced_bytes() -> int:
    return tracemalloc.get_traced_memory()[0]


def meter_imports(read: Callable[[], int]) -> Counter[str]:
    """From now on, what ``read()`` grows by while each module loads (the modules it imports
    counted apart, as ``-X importtime`` does), summed by top-level package."""
    from importlib import _bootstrap  # type: ignore[attr-defined]

    own: Counter[str] = Counter()
    local = threading.local()
    original = _bootstrap._load_unlocked

    def load(spec: Any) -> Any:
        stack = local.__dict__.setdefault("stack", [])
        stack.append(0)
        before = read()
        try:
            return original(spec)
        finally:
            grown = read() - before
            own[spec.name.split(".")[0]] += grown - stack.pop()
            if stack:
                stack[-1] += grown

    _bootstrap._load_unlocked = load
    return own


def loaded() -> list[str]:
    """The watched heavy packages this process has imported."""
    return [name for name in WATCHED if name in sys.modules]


def child_report(seconds: float, own: Counter[str], read: Callable[[], int]) -> None:
    """What the parent reads: one JSON line on stdout."""
    figures = {"seconds": seconds, "rss_kib": rss_bytes() // 1024, "loaded": loaded(),
               "memory": dict(own), "total": read()}  # fmt: skip
    print(json.dumps(figures), flush=True)


def metered(how: str) -> tuple[Counter[str], Callable[[], int]]:
    """The meter the parent asked for: ``rss``, ``traced`` or ``none``."""
    if how == "traced":
        tracemalloc.start()
    read = {"rss": rss_bytes, "traced": traced_bytes}.get(how, rss_bytes)
    return (meter_imports(read) if how != "none" else Counter()), read


def child_import(how: str) -> None:
    own, read = metered(how)
    started = time.perf_counter()
    import bot.app  # noqa: F401  (the measure)

    child_report(time.perf_counter() - started, own, read)


def child_start(how: str, config_path: Path) -> None:
    own, read = metered(how)
    started = time.perf_counter()
    from bot.app import App
    from bot.cli import _load, _prepared

    config = _load(config_path)
    if not _prepared(config):
        raise SystemExit(2)

    async def start_and_stop() -> None:
        app = App(config)
        try:
            await app.start()
            child_report(time.perf_counter() - started, own, read)
        finally:
            await app.stop()

    asyncio.run(start_and_stop())


# --- in the parent -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Measure:
    """One child's figures: ``memory`` is bytes by package (RSS or traced, as metered),
    ``total`` the whole process's at the end."""

    seconds: float
    rss_kib: int
    loaded: list[str]
    memory: dict[str, int]
    total: int
    import_us: dict[str, int]


def import_times(stderr: str) -> dict[str, int]:
    """``-X importtime`` output summed by top-level package: microseconds of its own time."""
    totals: Counter[str] = Counter()
    for line in stderr.splitlines():
        found = IMPORT_LINE.match(line)
        if found:
            totals[found.group(3).split(".")[0]] += int(found.group(1))
    return dict(totals)


def run_child(python: Path, how: str, args: list[str]) -> Measure:
    """This script in a fresh interpreter of ``python``, metering ``how`` (``none``,
    ``importtime``, ``rss``, ``traced``); its figures."""
    flags = ["-X", "importtime"] if how == "importtime" else []
    argv = [str(python), *flags, __file__, "--child", how, *args]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=CHILD_TIMEOUT, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)}: status {done.returncode}\n{done.stderr[-3000:]}")
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    return Measure(**figures, import_us=import_times(done.stderr))


@dataclass(frozen=True)
class Case:
    """One case: plain timed runs, then one run for each meter."""

    name: str
    timed: list[Measure]
    importtime: Measure
    rss: Measure
    traced: Measure


METERS = ("importtime", "rss", "traced")


async def measured(name: str, runs: int, python: Path, args: Callable[[], list[str]]) -> Case:
    """``runs`` plain runs then one per meter, each child on ``args()``."""
    timed = [await asyncio.to_thread(run_child, python, "none", args()) for _ in range(runs)]
    meters = [await asyncio.to_thread(run_child, python, how, args()) for how in METERS]
    return Case(name, timed, *meters)


async def start_cases(runs: int, base: Path, python: Path) -> list[Case]:
    """Cold starts (a fresh bot account and data directory each), then warm starts of the last
    one (its session, crypto store and sync token reused)."""
    from processes import member, new_bot

    from bot.sandbox.synapse import LocalSynapse

    async with LocalSynapse(base / "synapse", relaxed_rate_limits=True) as synapse:
        alice = member(synapse, await synapse.register("alice", "alice"), base)
        await alice.start()
        try:
            bots = [await new_bot(synapse, alice, base, f"bot-{n}") for n in range(runs + 3)]
        finally:
            await alice.stop()
        fresh = iter(bots)
        cold = await measured(
            "start, cold", runs, python, lambda: ["start", str(next(fresh).config_path)]
        )
        last = ["start", str(bots[-1].config_path)]
        warm = await measured("start, warm", runs, python, lambda: last)
    return [cold, warm]


# --- the report ----------------------------------------------------------------------------------


def mib(size: float) -> float:
    return size / 2**20


def report(cases: list[Case], top: int) -> None:
    print("ssphub-bot: import time and memory by top-level package, each in a fresh interpreter")
    print(f"{'':16}{'seconds':>9}{'VmRSS MiB':>11}{'imports s':>11}"
          f"{'RSS by imports':>16}{'traced MiB':>12}")  # fmt: skip
    for c in cases:
        seconds = statistics.median(m.seconds for m in c.timed)
        rss = statistics.median(m.rss_kib for m in c.timed) / 1024
        imports = sum(c.importtime.import_us.values()) / 1e6
        by_imports = mib(sum(c.rss.memory.values()))
        print(f"{c.name:16}{seconds:9.2f}{rss:11.1f}{imports:11.2f}{by_imports:16.1f}"
              f"{mib(c.traced.total):12.1f}")  # fmt: skip
    for c in cases:
        breakdown(c, top)


def breakdown(c: Case, top: int) -> None:
    """The packages that cost most import time or memory, then the rest summed."""
    print(f"\n{c.name}: heavy packages loaded: {', '.join(c.timed[-1].loaded) or 'none'}")
    times, rss, traced = (
        Counter(c.importtime.import_us),
        Counter(c.rss.memory),
        Counter(c.traced.memory),
    )
    names = {name for counter in (times, rss, traced) for name, _ in counter.most_common(top)}
    shown = sorted(names, key=lambda name: -times[name])
    print(f"  {'package':22}{'import ms':>10}{'RSS MiB':>9}{'traced MiB':>12}")
    for name in shown:
        print(f"  {name:22}{times[name] / 1e3:10.1f}{mib(rss[name]):9.1f}{mib(traced[name]):12.2f}")
    rest = (times.keys() | rss.keys() | traced.keys()) - names
    print(
        f"  {f'(the rest, {len(rest)})':22}{sum(times[n] for n in rest) / 1e3:10.1f}"
        f"{mib(sum(rss[n] for n in rest)):9.1f}{mib(sum(traced[n] for n in rest)):12.2f}"
    )
    print(
        f"  {'(outside imports)':22}{'':10}{mib(c.rss.total - sum(rss.values())):9.1f}"
        f"{mib(c.traced.total - sum(traced.values())):12.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="timed runs of each case")
    parser.add_argument("--top", type=int, default=12, help="packages shown, the largest")
    parser.add_argument("--tree", type=Path, default=HERE.parent, help="the bot's source tree")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        how, what, *rest = args.child
        how = "none" if how == "importtime" else how
        child_import(how) if what == "import" else child_start(how, Path(rest[0]))
        return
    from runtime import installed_bot

    python = installed_bot(args.tree.absolute()).with_name("python")
    print(f"ssphub-bot from {args.tree.absolute()}, runtime dependencies only: {python}")
    cases = [asyncio.run(measured("import bot.app", args.runs, python, lambda: ["import"]))]
    with tempfile.TemporaryDirectory(prefix="ssphub-bench-") as tmp:
        cases += asyncio.run(start_cases(args.runs, Path(tmp), python))
    report(cases, args.top)


if __name__ == "__main__":
    main()
