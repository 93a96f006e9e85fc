"""Soak: ``ssphub-bot run`` under a steady community load for as long as asked, watched from /proc.

The bot runs as its own subprocess (``ssphub-bot run``, SQLite in its data directory, encryption
on) against a local Synapse, in an encrypted room with five members and an organiser (nio
clients). A member sends a command every 1.2 s, in turn (!ping, !agenda, !prochain, !infolettre,
!aide); every 30 s the organiser sets a reminder for one minute later. The hub's event and
newsletter feeds are served on loopback and flip between the two site builds of the 2026-05
restructuring every ``--flip-minutes``; the newer build carries a newsletter of today, so it
appears and disappears. Every ``--interval`` seconds a line gives the bot's RSS, peak RSS
(VmHWM), open file descriptors, database size (file + WAL), commands answered/sent, reminders
fired, announcements and the latency (send -> reply seen) of the interval's replies. At the end:
least-squares slopes of RSS and database size, the exactly-once checks, the bot's log errors and
its stop on SIGTERM. The exit status is 1 when a check fails.

    python bench/soak.py [--minutes 30] [--interval 60] [--flip-minutes 5]
                         [--warmup-minutes 5] [--set section.key=value ...]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from processes import Bot, Process, member, new_bot
from soak_config import Override, lifted, overridden, soak_settings
from soak_feeds import Site, site
from soak_room import Ledger, commands, reminders, send
from soak_stats import HEADER, Sample, exactly_once, interval_line, sample, slope_lines

from bot.matrix.member import Member
from bot.sandbox.synapse import LocalSynapse

MEMBERS = 5
READY_TIMEOUT = 120.0
DRAIN_TIMEOUT = 150.0  # after the load: the last reminder fires one minute after it is set
NEWSLETTER_MARK = "au long cours"


@dataclass
class Run:
    """What a soak leaves to report."""

    samples: list[Sample] = field(default_factory=list)
    checks: list[tuple[str, bool]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


async def people(synapse: LocalSynapse, base: Path) -> tuple[Member, list[Member]]:
    """The organiser and the members, registered, with encryption, syncing."""
    organiser = member(synapse, await synapse.register("orga", "orga"), base, encryption=True)
    members = [
        member(synapse, await synapse.register(f"m{n}", f"m{n}"), base, encryption=True)
        for n in range(MEMBERS)
    ]
    for who in (organiser, *members):
        await who.start()
    return organiser, members


async def seat(organiser: Member, members: list[Member], room: str) -> None:
    """Invite the members to the bot's room and wait until they are in."""
    for who in members:
        await organiser.client.room_invite(room, who.user_id)
        await who.join(room)
    for who in members:
        await organiser.wait_for_member(room, who.user_id)


async def ready(process: Process, ledger: Ledger, everyone: list[Member], bot: Bot) -> None:
    """Once the bot is in, known to every client and answering, the load may begin."""
    await process.first_line("logged in as", READY_TIMEOUT)
    for who in everyone:
        await who.wait_for_member(bot.room, bot.user.user_id, timeout=READY_TIMEOUT)
    event_id = await send(ledger, everyone[0], bot.room, "!ping")
    assert event_id is not None
    await everyone[0].wait_for_reply(bot.room, event_id, timeout=READY_TIMEOUT)


async def watch(
    process: Process, bot: Bot, ledger: Ledger, feeds: Site, args: argparse.Namespace, run: Run
) -> None:
    """Print a line every interval and flip the site when due, until the load ends."""
    database = bot.config().data_dir / "ssphub-bot.db"
    start = time.perf_counter()
    end = start + args.minutes * 60
    next_flip = start + args.flip_minutes * 60
    print(HEADER, flush=True)
    while (now := time.perf_counter()) < end:
        since = now
        await asyncio.sleep(min(args.interval, end - now))
        while time.perf_counter() >= next_flip:
            feeds.flip()
            next_flip += args.flip_minutes * 60
        taken = sample(process.pid, database, time.perf_counter() - start)
        run.samples.append(taken)
        print(interval_line(taken, ledger, since), flush=True)


async def drained(ledger: Ledger, observer: Member) -> float:
    """Seconds waited after the load until every command was answered and reminder fired."""
    start = time.perf_counter()
    with contextlib.suppress(TimeoutError):
        await observer.wait_until(ledger.settled, timeout=DRAIN_TIMEOUT)
    return time.perf_counter() - start


async def soak(args: argparse.Namespace, base: Path) -> Run:
    run = Run()
    async with LocalSynapse(base / "synapse", relaxed_rate_limits=True) as synapse, site() as feeds:
        organiser, members = await people(synapse, base)
        try:
            bot = await new_bot(synapse, organiser, base, "soakbot", encrypted=True)
            extra = soak_settings(organiser.user_id, feeds.urls())
            text = bot.config_path.read_text() + extra
            bot.config_path.write_text(overridden(text, args.set))
            bot.config()  # refuse a bad --set before anything starts
            await seat(organiser, members, bot.room)
            ledger = Ledger(bot.user.user_id)
            ledger.listen(organiser)
            await load(bot, ledger, organiser, members, feeds, args, run)
        finally:
            for who in (organiser, *members):
                await who.stop()
    return run


async def load(
    bot: Bot,
    ledger: Ledger,
    organiser: Member,
    members: list[Member],
    feeds: Site,
    args: argparse.Namespace,
    run: Run,
) -> None:
    """Start the bot, run the load while watching, drain, stop the bot and check."""
    process = bot.process()
    await process.start()
    try:
        await ready(process, ledger, [organiser, *members], bot)
        until = time.perf_counter() + args.minutes * 60
        async with asyncio.TaskGroup() as group:
            group.create_task(commands(ledger, members, bot.room, until))
            group.create_task(reminders(ledger, organiser, bot.room, until))
            group.create_task(watch(process, bot, ledger, feeds, args, run))
        run.notes.append(f"drained in {await drained(ledger, organiser):.1f} s after the load")
    finally:
        stop_start = time.perf_counter()
        status = await process.stop()
        took = time.perf_counter() - stop_start
    mark = NEWSLETTER_MARK if feeds.newsletter_shown else None
    run.checks = exactly_once(ledger, mark)
    errors = [line for _, line in process.lines if " ERROR " in line or " CRITICAL " in line]
    run.checks.append((f"ERROR lines in the bot's log: {len(errors)}", not errors))
    run.checks.append((f"SIGTERM: exit status {status}, stopped in {took:.2f} s", status == 0))
    run.notes += [f"  {line}" for line in errors[:10]]
    statuses = feeds.requests()
    run.notes.append(
        f"site flips: {feeds.flips}; feed requests: {sum(statuses.values())}, "
        f"{statuses[304]} answered 304 (conditional)"
    )


def report(run: Run, args: argparse.Namespace) -> bool:
    """Print the end of the run; whether every check held."""
    for line in slope_lines(run.samples, args.warmup_minutes * 60):
        print(line)
    for note in run.notes:
        print(note)
    for text, held in run.checks:
        print(f"{'ok  ' if held else 'FAIL'} {text}")
    return all(held for _, held in run.checks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0, help="length of the load")
    parser.add_argument("--interval", type=float, default=60.0, help="seconds between lines")
    parser.add_argument("--flip-minutes", type=float, default=5.0, help="site build lifetime")
    parser.add_argument("--warmup-minutes", type=float, default=5.0, help="left out of a slope")
    parser.add_argument(
        "--set", type=Override.parse, action="append", default=[], metavar="SECTION.KEY=VALUE",
        help="override a setting of the bot's configuration (repeatable)",
    )  # fmt: skip
    args = parser.parse_args()
    logging.getLogger("nio").setLevel(logging.ERROR)  # the clients' key-sharing chatter
    print("ssphub-bot soak: `ssphub-bot run` subprocess, SQLite, encrypted room, local Synapse")
    print(f"{args.minutes:g} min, 5 members + organiser, a command every 1.2 s, a reminder every"
          f" 30 s, site flips every {args.flip_minutes:g} min")  # fmt: skip
    print(lifted(args.set), flush=True)
    with tempfile.TemporaryDirectory(prefix="ssphub-soak-") as tmp:
        run = asyncio.run(soak(args, Path(tmp)))
    sys.exit(0 if report(run, args) else 1)


if __name__ == "__main__":
    main()
