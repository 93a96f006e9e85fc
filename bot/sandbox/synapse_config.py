"""The throwaway homeserver's settings: loopback only, SQLite, no federation, quiet, and rate
limits relaxed for speed or kept at Synapse's defaults; and the shared-secret registration MAC."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path
from typing import Any

_RELAXED = {"per_second": 10_000, "burst_count": 100_000}
SECRET_KEYS = ("registration_shared_secret", "macaroon_secret_key", "form_secret")
# Every flat (un-nested) rate limiter of Synapse 1.163's synapse/config/ratelimiting.py.
# fmt: off
_FLAT_LIMITS = (
    "rc_message", "rc_registration_token_validity", "rc_admin_redaction", "rc_joins_per_room",
    "rc_key_requests", "rc_3pid_validation", "rc_third_party_invite", "rc_media_create",
    "rc_delayed_event_mgmt", "rc_room_creation", "rc_reports", "rc_user_directory", "rc_profile",
)
# fmt: on


def relaxed_limits(relaxed: bool) -> dict[str, Any]:
    """Return the `rc_*` settings: all very high when relaxed, else only login/registration/joins.

    Login, registration and joins stay relaxed even in strict mode because tests log many users
    in from the single address 127.0.0.1; every other limiter keeps Synapse's default so that
    strict servers answer M_LIMIT_EXCEEDED the way a real homeserver (e.g. Tchap) does.
    """
    limits: dict[str, Any] = {
        "rc_login": {"address": _RELAXED, "account": _RELAXED, "failed_attempts": _RELAXED},
        "rc_registration": _RELAXED,
        "rc_joins": {"local": _RELAXED, "remote": _RELAXED},
    }
    if not relaxed:
        return limits
    limits.update({key: _RELAXED for key in _FLAT_LIMITS})
    limits["rc_invites"] = {"per_room": _RELAXED, "per_user": _RELAXED, "per_issuer": _RELAXED}
    limits["rc_presence"] = {"per_user": _RELAXED}
    return limits


def log_config(log_file: Path) -> dict[str, Any]:
    """Return a logging dictConfig that writes warnings and errors to `log_file` only."""
    handler = {"class": "logging.FileHandler", "filename": str(log_file), "formatter": "plain"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"plain": {"format": "%(asctime)s %(name)s %(levelname)s %(message)s"}},
        "handlers": {"file": handler},
        "root": {"level": "WARNING", "handlers": ["file"]},
    }


def homeserver_config(
    base_dir: Path,
    server_name: str,
    port: int,
    secrets: dict[str, str],
    *,
    relaxed: bool,
    log_config: Path,
    pid_path: Path,
) -> dict[str, Any]:
    """Return the homeserver settings: loopback only, SQLite, no federation, quiet."""
    listener = {
        "port": port,
        "type": "http",
        "bind_addresses": ["127.0.0.1"],
        "tls": False,
        "x_forwarded": False,
        "resources": [{"names": ["client"], "compress": False}],
    }
    return {
        "server_name": server_name,
        "pid_file": str(pid_path),
        "listeners": [listener],
        "database": {
            "name": "sqlite3",
            "args": {"database": str(base_dir / "homeserver.db")},
        },
        "log_config": str(log_config),
        "media_store_path": str(base_dir / "media_store"),
        "signing_key_path": str(base_dir / f"{server_name}.signing.key"),
        **secrets,
        "report_stats": False,
        "trusted_key_servers": [],
        "suppress_key_server_warning": True,
        "federation_domain_whitelist": [],
        "url_preview_enabled": False,
        "enable_registration": False,
        "presence": {"enabled": False},
        # Throwaway accounts: cheap password hashing keeps register/login fast in tests.
        "bcrypt_rounds": 4,
        **relaxed_limits(relaxed),
    }


def registration_mac(secret: str, nonce: str, user: str, password: str, admin: bool) -> str:
    """Return the HMAC-SHA1 that /_synapse/admin/v1/register expects for these fields."""
    message = b"\x00".join(
        [nonce.encode(), user.encode(), password.encode(), b"admin" if admin else b"notadmin"]
    )
    return hmac.new(secret.encode(), message, hashlib.sha1).hexdigest()
