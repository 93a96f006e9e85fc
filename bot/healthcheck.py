"""``ssphub-bot healthcheck``: asks the running bot's ``/healthz`` at the address its
configuration gives, for a container's or a supervisor's health check."""

from __future__ import annotations

import urllib.error
import urllib.request
from dataclasses import dataclass

from bot.config import WebConfig

# A server listening on every address answers on loopback.
_LOOPBACK = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}
_BODY_LIMIT = 2000


@dataclass(frozen=True)
class Verdict:
    """The answer of one probe: healthy or not, and what to print."""

    healthy: bool
    report: str


def healthz_url(web: WebConfig) -> str | None:
    """Where ``/healthz`` answers from this machine; None when the web server is off."""
    if not web.enabled:
        return None
    host = _LOOPBACK.get(web.host, web.host)
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{web.port}/healthz"


def check(web: WebConfig, timeout: float) -> Verdict:
    """Healthy when ``/healthz`` answers 200, or when the web server is off: then there is
    nothing to ask, and a supervisor must not take the bot for sick forever."""
    url = healthz_url(web)
    if url is None:
        return Verdict(True, "web server off (web.port: 0): nothing to probe")
    # No proxy from the environment: the bot is on this machine.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=timeout) as response:
            return Verdict(True, _body(response.read(_BODY_LIMIT)))
    except urllib.error.HTTPError as error:
        return Verdict(False, f"{url}: {error.code} {_body(error.read(_BODY_LIMIT))}")
    except (OSError, ValueError) as error:
        reason = getattr(error, "reason", None) or error
        return Verdict(False, f"{url}: no answer ({reason})")


def _body(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace").strip()
