"""Whether the bot's device is cross-signed, and if not why and what the operator should do.

Protocol-neutral (no nio): read by ``!statut``, the metrics and ``crypto status``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

RECOVERY_KEY_FILE = "recovery-key.txt"  # in data_dir, written once when the bot makes the identity


class KeySource(StrEnum):
    """Where the self-signing key that signed the device came from."""

    ALREADY_SIGNED = "already signed"
    CREATED = "identity created by the bot"
    DATA_DIR = "data directory"
    SECRET_STORAGE = "secret storage (recovery key)"


class Problem(StrEnum):
    """Why the device could not be signed; each has a remedy in the log and the catalogues."""

    NO_RECOVERY_KEY = "no_recovery_key"
    WRONG_RECOVERY_KEY = "wrong_recovery_key"
    KEYS_MISMATCH = "keys_mismatch"
    PASSWORD_NEEDED = "password_needed"
    AUTH_UNSUPPORTED = "auth_unsupported"
    DEVICE_MISMATCH = "device_mismatch"
    REFUSED = "refused"
    UNREACHABLE = "unreachable"


REMEDIES = {
    Problem.NO_RECOVERY_KEY: (
        "set matrix.recovery_key (for instance ${BOT_RECOVERY_KEY}) to the account's recovery "
        "key or passphrase and restart, or replace the identity with `ssphub-bot crypto reset`"
    ),
    Problem.WRONG_RECOVERY_KEY: (
        "check matrix.recovery_key (the account's current recovery key, as Tchap showed it, or "
        "its passphrase) and restart, or replace the identity with `ssphub-bot crypto reset`"
    ),
    Problem.KEYS_MISMATCH: (
        "the identity was replaced elsewhere: set matrix.recovery_key to the account's current "
        "recovery key and restart, or replace the identity with `ssphub-bot crypto reset`"
    ),
    Problem.PASSWORD_NEEDED: (
        "the homeserver asks for the account password: replace matrix.access_token with "
        "matrix.password for one start (the stored device is kept), or set up the identity in "
        "Tchap logged in as the bot and set matrix.recovery_key"
    ),
    Problem.AUTH_UNSUPPORTED: (
        "set up the identity in Tchap logged in as the bot (Settings, Security), then set "
        "matrix.recovery_key to its recovery key and restart"
    ),
    Problem.DEVICE_MISMATCH: (
        "the homeserver publishes other keys for this device than the bot's own; do not trust "
        "it until this is explained, then restart"
    ),
    Problem.REFUSED: "see the reason above; the bot tries again at its next start",
    Problem.UNREACHABLE: "the bot tries again by itself",
}


@dataclass(frozen=True)
class DeviceTrust:
    """The outcome of the start-up check of the bot's identity; never holds a secret."""

    user_id: str
    device_id: str
    signed: bool
    source: KeySource | None = None
    problem: Problem | None = None
    detail: str = ""

    @property
    def remedy(self) -> str:
        return REMEDIES[self.problem] if self.problem else ""


@dataclass(frozen=True)
class KeyWithheld:
    """A member's client refused the bot a room key (``m.room_key.withheld``)."""

    sender: str
    device_id: str | None
    room_id: str | None
    room_name: str | None
    code: str
