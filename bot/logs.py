"""Logging set-up: tokens and e-mail addresses are redacted from every record."""

from __future__ import annotations

import logging
import re

_SECRETS = [
    (re.compile(r"(access_token=)[^&\s\"']+"), r"\1<redacted>"),
    (re.compile(r"\b(syt|syr|mct)_[A-Za-z0-9_=-]{8,}"), r"\1_<redacted>"),
    (re.compile(r"(Bearer\s+)[A-Za-z0-9._~+/=-]+"), r"\1<redacted>"),
    (re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"), "<e-mail>"),
]


def redact(text: str) -> str:
    """``text`` with access tokens and e-mail addresses replaced by placeholders."""
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFilter(logging.Filter):
    """Renders each record's message once, redacted, so no handler can print a secret."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed call: let the handler report it the usual way
            return True
        record.msg = redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        return True


def setup_logging(level: str = "INFO") -> None:
    """Log to stderr; the chatty libraries only speak up for warnings."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("nio", "peewee", "aiohttp.access", "alembic", "apscheduler"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
