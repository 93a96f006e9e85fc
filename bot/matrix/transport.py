"""The homeserver's failures as errors of the bot's tree: one table for the transport (aiohttp,
timeouts), one for nio's error answers; every call to the homeserver goes through them."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

import aiohttp

from bot.errors import (
    DeliveryError,
    ExceptionTypes,
    HomeserverUnreachable,
    PermanentDeliveryError,
    RateLimited,
    TransientDeliveryError,
    Translate,
    map_exceptions,
)

PERMANENT_ERRCODES = {
    "M_FORBIDDEN",
    "M_NOT_FOUND",
    "M_BAD_JSON",
    "M_NOT_JSON",
    "M_TOO_LARGE",
    "M_UNKNOWN_TOKEN",
    "M_MISSING_TOKEN",
    "M_INVALID_PARAM",
}
DEFAULT_RETRY_MS = 5000

UNREACHABLE: dict[ExceptionTypes, Translate] = {
    (aiohttp.ClientError, TimeoutError): lambda error: HomeserverUnreachable(type(error).__name__),
}
# nio raises errors of its own for unknown rooms and key sharing: worth another try later.
SENDING: dict[ExceptionTypes, Translate] = {
    **UNREACHABLE,
    Exception: lambda error: TransientDeliveryError(f"{type(error).__name__}: {error}"),
}


def homeserver_errors() -> AbstractContextManager[None]:
    """No answer from the homeserver (network, timeout) becomes ``HomeserverUnreachable``."""
    return map_exceptions(UNREACHABLE)


def sending_errors() -> AbstractContextManager[None]:
    """As ``homeserver_errors``, and any other failure of a send is a transient one."""
    return map_exceptions(SENDING)


def refusal(response: Any) -> DeliveryError:
    """What an error answer of the homeserver means for a send: wait, retry, or give up."""
    errcode = getattr(response, "status_code", None)
    message = f"{errcode}: {getattr(response, 'message', '')}"
    if errcode == "M_LIMIT_EXCEEDED":
        retry_ms = getattr(response, "retry_after_ms", None) or DEFAULT_RETRY_MS
        return RateLimited(retry_ms / 1000)
    if errcode in PERMANENT_ERRCODES:
        return PermanentDeliveryError(message)
    return TransientDeliveryError(message)
