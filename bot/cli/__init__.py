"""Command line: run · sandbox · check-config · healthcheck · db upgrade · feeds preview ·
subscribers · crypto."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from bot.cli import crypto, subscribers
from bot.errors import BotError, ConfigError

if TYPE_CHECKING:
    from bot.config import Config
    from bot.feeds.normalise import FeedItem
    from bot.feeds.settings import FeedSettings

DEFAULT_CONFIG = Path("config/config.yaml")


def _parser() -> argparse.ArgumentParser:
    # BOT_CONFIG moves the default for every command at once (the image's health check too).
    default_config = Path(os.environ.get("BOT_CONFIG") or DEFAULT_CONFIG)
    parser = argparse.ArgumentParser(prog="ssphub-bot", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run the bot")
    run.add_argument("--config", type=Path, default=default_config)
    check = commands.add_parser(
        "check-config",
        help="validate a configuration file, then check the data directory, database and "
        "crypto store it names",
    )
    check.add_argument("--config", type=Path, default=default_config)
    check.add_argument(
        "--file-only", action="store_true", help="validate the file alone, touching nothing else"
    )
    health = commands.add_parser(
        "healthcheck", help="ask the running bot's /healthz at the configured web address"
    )
    health.add_argument("--config", type=Path, default=default_config)
    health.add_argument("--timeout", type=float, default=4.0, help="seconds (default 4)")
    db = commands.add_parser("db", help="database maintenance")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    upgrade = db_commands.add_parser("upgrade", help="migrate the schema to the latest version")
    upgrade.add_argument("--config", type=Path, default=default_config)
    feeds = commands.add_parser("feeds", help="feed tools")
    feeds_commands = feeds.add_subparsers(dest="feeds_command", required=True)
    preview = feeds_commands.add_parser(
        "preview",
        help="print a feed's normalised items and the messages the bot would send "
        "(no homeserver, nothing sent)",
    )
    preview.add_argument("target", metavar="URL|FILE")
    preview.add_argument("--config", type=Path, default=None)
    sandbox = commands.add_parser(
        "sandbox", help="run the bot against a throw-away local homeserver and sample feeds"
    )
    sandbox.add_argument("--data-dir", type=Path, default=Path("data"))
    sandbox.add_argument(
        "--demo", action="store_true", help="play a short scripted conversation, print it, and exit"
    )
    subscribers.add_parser(commands, default_config)
    crypto.add_parser(commands, default_config)
    return parser


def _load(path: Path) -> Config:
    from bot.config import load_config

    return load_config(path)


def check_config(path: Path, file_only: bool = False) -> int:
    """Print every problem of the file, then of the places it names (data directory, database,
    crypto store), and return 2; or say all is well and return 0."""
    from bot.preflight import inspect

    try:
        config = _load(path)
    except ConfigError as error:
        for problem in error.problems:
            print(problem, file=sys.stderr)
        return 2
    found = [] if file_only else inspect(config)
    if found:
        print("\n".join(map(str, found)), file=sys.stderr)
        return 2
    print(f"{path}: valid" + ("" if file_only else f"; {config.data_dir} is ready"))
    if config.matrix.encryption:
        print(crypto.recovery_key_note(config))
    return 0


def healthcheck(path: Path, timeout: float) -> int:
    """0 when the running bot says it is healthy (or its web server is off), else 1 (never 2,
    which Docker reserves)."""
    from bot.healthcheck import check

    try:
        web = _load(path).web
    except ConfigError as error:
        print("\n".join(error.problems), file=sys.stderr)
        return 1
    verdict = check(web, timeout)
    print(verdict.report, file=sys.stdout if verdict.healthy else sys.stderr)
    return 0 if verdict.healthy else 1


def _prepared(config: Config) -> bool:
    """Run the start-up checks; print each problem on its own line and say False if any."""
    from bot.preflight import prepare

    found = prepare(config)
    if found:
        print("\n".join(map(str, found)), file=sys.stderr)
    return not found


def db_upgrade(path: Path) -> int:
    """Migrate, unless a running bot holds the database (it may not know the new schema)."""
    from bot.storage.lock import alone
    from bot.storage.migrate import upgrade

    config = _load(path)
    if not _prepared(config):
        return 2
    url = config.database_url_or_default
    if not asyncio.run(alone(url, lambda: upgrade(url))):
        print(
            "a running bot holds this database: stop it first, or let `ssphub-bot run` of the "
            "new version migrate once it takes over",
            file=sys.stderr,
        )
        return 1
    print("database schema is up to date")
    return 0


def feeds_preview(target: str, config_path: Path | None) -> int:
    """Print what the bot reads in a feed (URL or file) and would announce from it."""
    from bot.clock import SystemClock
    from bot.errors import FeedError
    from bot.feeds.preview import report_lines, settings_for, verdicts

    config = _load(config_path) if config_path else None
    settings = settings_for(config, target)
    try:
        items = asyncio.run(_read(target, settings, config))
    except (FeedError, OSError) as error:
        print(f"{target}: cannot read the feed: {error}", file=sys.stderr)
        return 1
    lines = verdicts(items, settings.policy, None, first_poll=False, now=SystemClock().now())
    print("\n".join(report_lines(target, items, lines, config)))
    return 0


async def _read(target: str, settings: FeedSettings, config: Config | None) -> list[FeedItem]:
    """The feed's items: fetched as the bot would (same address rules, no bot running), or read
    from a file when ``target`` is no http(s) URL."""
    from bot import __version__
    from bot.feeds.fetch import FeedFetcher, user_agent
    from bot.feeds.guard import guarded_session
    from bot.feeds.policy import AddressPolicy
    from bot.feeds.preview import fetch_items, is_web_address, read_file_items

    if not is_web_address(target):
        return await read_file_items(target, settings)
    policy = AddressPolicy.allowing(config.fetch.allow_private if config else ())
    async with guarded_session(policy) as http:
        agent = user_agent(__version__, config.contact if config else None)
        fetcher = FeedFetcher(http, user_agent=agent)
        return await fetch_items(target, settings, fetcher)


async def _until_signalled() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    return stop


def run(path: Path) -> int:
    from bot.allocator import limit_arenas

    limit_arenas()  # before any thread starts
    from bot.app import App, run_until_stopped
    from bot.logs import setup_logging

    config = _load(path)
    setup_logging(config.logging.level)
    if not _prepared(config):
        return 2

    async def main() -> bool:
        return await run_until_stopped(App(config), await _until_signalled())

    return 0 if asyncio.run(main()) else 1  # a lost instance lock: let the supervisor restart


def sandbox(data_dir: Path, demo: bool) -> int:
    from bot.logs import setup_logging
    from bot.sandbox.run import run_sandbox, sandbox_dir

    setup_logging("WARNING" if demo else "INFO")

    async def main() -> int:
        return await run_sandbox(base, demo=demo, stop=await _until_signalled())

    base = sandbox_dir(data_dir)

    return asyncio.run(main())


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "check-config":
            return check_config(args.config, args.file_only)
        if args.command == "healthcheck":
            return healthcheck(args.config, args.timeout)
        if args.command == "db":
            return db_upgrade(args.config)
        if args.command == "feeds":
            return feeds_preview(args.target, args.config)
        if args.command == "sandbox":
            return sandbox(args.data_dir, args.demo)
        if args.command == "subscribers":
            return subscribers.run(args, _load)
        if args.command == "crypto":
            return crypto.run(args, _load)
        return run(args.config)
    except ConfigError as error:
        print("\n".join(error.problems), file=sys.stderr)
        return 2
    except BotError as error:  # a login refused, a database that cannot be migrated
        print(f"ssphub-bot: {error}", file=sys.stderr)
        return 1
