"""Log redaction: no access token or e-mail address ever reaches the bot's log."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from bot.logs import RedactingFilter, redact

SYNAPSE_TOKEN = "syt_c3NwaHViLWJvdA_AbCdEfGhIjKlMnOpQrSt_1a2B3c"


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        (f"logged in with {SYNAPSE_TOKEN}", SYNAPSE_TOKEN),
        ("refresh syr_ZXhhbXBsZQ_QwErTyUiOp_9z8Y7x", "syr_ZXhhbXBsZQ_QwErTyUiOp_9z8Y7x"),
        ("compat mct_AbCdEfGhIjKlMnOp", "mct_AbCdEfGhIjKlMnOp"),
        (
            "GET /_matrix/client/v3/sync?since=s1&access_token=s3cr3t-t0ken&timeout=30000",
            "s3cr3t-t0ken",
        ),
        ("Authorization: Bearer eyJhbGciOi.payload.signature", "eyJhbGciOi.payload.signature"),
        ("new subscriber jeanne.dupont@insee.fr", "jeanne.dupont@insee.fr"),
        ("mail to a+b@sub.example.org failed", "a+b@sub.example.org"),
    ],
)
def test_redact_removes_tokens_and_addresses(text: str, secret: str) -> None:
    """Access tokens (Synapse, query string, Bearer) and e-mail addresses are replaced."""
    redacted = redact(text)
    assert secret not in redacted
    assert "<redacted>" in redacted or "<e-mail>" in redacted


def test_redact_keeps_the_rest_of_the_line() -> None:
    """Only the secret goes: the words around it and the other query values stay."""
    line = "sync failed: GET /sync?access_token=abc123&timeout=30000 for user jeanne@insee.fr"
    assert redact(line) == (
        "sync failed: GET /sync?access_token=<redacted>&timeout=30000 for user <e-mail>"
    )


def test_redact_keeps_matrix_ids_readable() -> None:
    """User, room and event ids are not mistaken for secrets: logs need them."""
    line = "command ping by @orga:agent.tchap.gouv.fr in !abc:agent.tchap.gouv.fr ($ev1)"
    assert redact(line) == line


def test_redact_removes_a_bearer_token_with_underscores() -> None:
    """A Bearer token is removed whole, underscores included (as in MAS 'mat_' tokens)."""
    assert redact("Authorization: Bearer mat_Q2xpZW50U2VjcmV0_x9Y8") == (
        "Authorization: Bearer <redacted>"
    )


@pytest.fixture
def redacted_log() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger whose only handler writes through the RedactingFilter into a buffer."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger("tests.redacted")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    yield logger, stream
    logger.removeHandler(handler)


def test_logged_record_shows_no_token(redacted_log: tuple[logging.Logger, io.StringIO]) -> None:
    """A token passed as a %-argument is redacted in the written line."""
    logger, stream = redacted_log
    logger.info("login answered %s for %s", SYNAPSE_TOKEN, "jeanne@insee.fr")
    written = stream.getvalue()
    assert SYNAPSE_TOKEN not in written and "jeanne@insee.fr" not in written
    assert written.startswith("INFO login answered syt_<redacted> for <e-mail>")


def test_logged_traceback_shows_no_token(redacted_log: tuple[logging.Logger, io.StringIO]) -> None:
    """A token inside an exception's message is redacted in the written traceback."""
    logger, stream = redacted_log
    try:
        raise RuntimeError(f"GET /sync?access_token={SYNAPSE_TOKEN} failed")
    except RuntimeError:
        logger.exception("sync failed")
    written = stream.getvalue()
    assert "Traceback" in written and "RuntimeError" in written
    assert SYNAPSE_TOKEN not in written


def test_malformed_log_call_does_not_raise_into_the_caller(
    redacted_log: tuple[logging.Logger, io.StringIO], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A log call with too few arguments is reported by logging, never raised at the caller."""
    logger, _ = redacted_log
    monkeypatch.setattr(logging, "raiseExceptions", False)  # no "--- Logging error ---" noise
    logger.warning("room %s event %s", "!hub:localhost")
