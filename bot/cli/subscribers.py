"""``ssphub-bot subscribers export|import``: the list for the hub's Grist table, and back."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.config import Config
    from bot.services.subscriptions.grist import ImportReport


def add_parser(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], default_config: Path
) -> None:
    """The ``subscribers`` command and its ``export`` and ``import`` subcommands."""
    subscribers = commands.add_parser("subscribers", help="newsletter subscribers")
    actions = subscribers.add_subparsers(dest="subscribers_command", required=True)
    export = actions.add_parser(
        "export", help="print every subscriber (Grist Contact columns, plus Matrix id and dates)"
    )
    export.add_argument("--format", choices=("csv", "json"), default="csv")
    export.add_argument("--output", type=Path, default=None, help="a file (default: stdout)")
    export.add_argument("--config", type=Path, default=default_config)
    load = actions.add_parser(
        "import",
        help="add the addresses of a CSV exported from the Grist Contact table; rows with "
        "Supprimez_mon_compte true are erased, not imported (running it twice changes nothing)",
    )
    load.add_argument("file", type=Path)
    load.add_argument("--config", type=Path, default=default_config)


def run(args: argparse.Namespace, load_config: Callable[[Path], Config]) -> int:
    """Run ``subscribers export`` or ``subscribers import``; the exit code."""
    from bot.storage.migrate import upgrade_sync

    config = load_config(args.config)
    upgrade_sync(config.database_url_or_default)
    if args.subscribers_command == "export":
        data = asyncio.run(_export(config, args.format))
        if args.output is None:
            sys.stdout.write(data.decode("utf-8"))
        else:
            args.output.write_bytes(data)
        return 0
    return _import(config, args.file)


async def _export(config: Config, fmt: str) -> bytes:
    from bot.services.subscriptions.grist import export
    from bot.storage.db import Database

    db = Database(config.database_url_or_default)
    try:
        async with db.session() as session:
            return await export(session, fmt, config.tz)
    finally:
        await db.dispose()


def _import(config: Config, path: Path) -> int:
    from bot.errors import ImportFileError

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        print(f"{path}: cannot read the file ({error})", file=sys.stderr)
        return 1
    try:
        report = asyncio.run(_apply(config, text))
    except ImportFileError as error:
        print(f"{path}: {error}", file=sys.stderr)
        return 1
    print(_summary(report))
    return 0


async def _apply(config: Config, text: str) -> ImportReport:
    from bot.clock import SystemClock
    from bot.services.subscriptions.grist import apply_import, read_grist_csv
    from bot.storage.db import Database

    rows = read_grist_csv(text)
    db = Database(config.database_url_or_default)
    try:
        async with db.session() as session:
            return await apply_import(session, rows, SystemClock().now())
    finally:
        await db.dispose()


def _summary(report: ImportReport) -> str:
    """What the import did, in numbers and line numbers (never an address)."""
    text = (
        f"{report.added} added, {report.present} already present, {report.erased} erased, "
        f"{len(report.invalid_lines)} invalid"
    )
    if report.invalid_lines:
        text += " (lines " + ", ".join(map(str, report.invalid_lines)) + ")"
    return text
