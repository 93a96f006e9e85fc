"""``ssphub-bot crypto status|reset``: the bot's cryptographic identity, from the shell.

``status`` never logs in and never shows a secret. ``reset`` replaces the account's identity:
it needs the account password, and members' clients then show that the bot's identity changed.
The work is in ``bot.matrix.crypto_commands`` (imported only when one of them runs).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from bot.trust import RECOVERY_KEY_FILE

if TYPE_CHECKING:
    from bot.config import Config


def add_parser(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], default_config: Path
) -> None:
    """The ``crypto`` command and its ``status`` and ``reset`` subcommands."""
    crypto = commands.add_parser("crypto", help="the bot's cryptographic identity (cross-signing)")
    actions = crypto.add_subparsers(dest="crypto_command", required=True)
    status = actions.add_parser(
        "status",
        help="user, device, whether the identity is published and the device signed, and where "
        "the keys come from (no secret shown; exit status 0 when the device is signed)",
    )
    status.add_argument("--config", type=Path, default=default_config)
    reset = actions.add_parser(
        "reset",
        help="replace the account's identity with a new one and sign the bot's device (needs "
        "the account password; members' clients will show that the bot's identity changed)",
    )
    reset.add_argument("--config", type=Path, default=default_config)
    reset.add_argument("--yes", action="store_true", help="do not ask for confirmation")


def run(args: argparse.Namespace, load_config: Callable[[Path], Config]) -> int:
    """Run ``crypto status`` or ``crypto reset``; the exit code."""
    import asyncio

    import aiohttp

    from bot.errors import BotError
    from bot.matrix import crypto_commands

    config = load_config(args.config)
    try:
        if args.crypto_command == "status":
            return asyncio.run(crypto_commands.status(config))
        return crypto_commands.reset(config, assume_yes=args.yes)
    except (aiohttp.ClientError, TimeoutError) as error:
        print(f"the homeserver did not answer ({type(error).__name__})", file=sys.stderr)
    except BotError as error:
        print(str(error), file=sys.stderr)
    return 1


def recovery_key_note(config: Config) -> str:
    """What ``check-config`` says of ``matrix.recovery_key`` (never its value)."""
    if config.matrix.recovery_key is None:
        return (
            "matrix.recovery_key is not set: at its first start the bot makes the account's "
            "cryptographic identity itself and writes its recovery key to "
            f"{config.data_dir / RECOVERY_KEY_FILE}. An account made in Tchap's apps already "
            "has one: then set matrix.recovery_key to its recovery key (or passphrase), or the "
            "bot's device stays unverified."
        )
    from bot.recoverykey import describe_recovery_key

    described = describe_recovery_key(config.matrix.recovery_key.get_secret_value())
    return (
        f"matrix.recovery_key: {described}; the bot opens the account's secret storage with it "
        "when its keys are not in the data directory."
    )
