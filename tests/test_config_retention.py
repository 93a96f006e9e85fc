"""The retention section of the configuration: defaults, fractions for a soak, its problems."""

from __future__ import annotations

from datetime import timedelta

from bot.config import RetentionConfig
from tests.test_config import EXAMPLE, MINIMAL, parse, problems


def test_retention_defaults_to_an_hourly_pass_and_the_documented_windows() -> None:
    """Left out, the section prunes hourly: sent messages after 48 h, refused ones after 30
    days, claims after 48 h, history after 90 days, feed changes after a year."""
    retention = parse(MINIMAL).retention
    assert retention == RetentionConfig(
        interval_minutes=60, sent_messages_hours=48, failed_messages_days=30,
        handled_events_hours=48, history_days=90, feed_changes_days=365, batch_rows=500,
    )  # fmt: skip
    example = EXAMPLE.read_text(encoding="utf-8").replace("CHANGE_ME", "ssphub")
    assert parse(example).retention == retention  # the example says the defaults


def test_a_soak_may_lower_the_windows_to_fractions() -> None:
    """Minutes and hours may be fractions, so a soak of two hours sees its windows pass."""
    text = MINIMAL + "retention:\n  interval_minutes: 0.5\n  sent_messages_hours: 0.1\n"
    retention = parse(text).retention
    assert (retention.interval_minutes, retention.sent_messages_hours) == (0.5, 0.1)


def test_claims_are_kept_at_least_the_command_grace() -> None:
    """The claims' window never falls below the grace, whatever the setting."""
    retention = RetentionConfig(handled_events_hours=0.01)
    assert retention.claims_window(timedelta(minutes=5)) == timedelta(minutes=5)
    assert RetentionConfig().claims_window(timedelta(minutes=5)) == timedelta(hours=48)


def test_zero_or_negative_windows_are_refused_with_their_key() -> None:
    """A window of zero would prune everything at once: refused, with the key path."""
    text = MINIMAL + "retention:\n  interval_minutes: 0\n  history_days: -1\n  batch_rows: 0\n"
    assert sorted(problems(text)) == [
        "bot.yaml: retention.batch_rows: must be at least 1",
        "bot.yaml: retention.history_days: must be greater than 0.0",
        "bot.yaml: retention.interval_minutes: must be greater than 0.0",
    ]
