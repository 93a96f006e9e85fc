"""Fixtures for the feed pipeline tests: the hub's real feeds bundled in bot/sandbox/feeds."""

from collections.abc import Callable
from pathlib import Path

import pytest

FEEDS_DIR = Path(__file__).resolve().parents[2] / "bot" / "sandbox" / "feeds"
HUB = "https://ssphub.netlify.app"


def load_feed(name: str) -> bytes:
    """The bytes of one bundled feed, by file name without extension ("event")."""
    return (FEEDS_DIR / f"{name}.xml").read_bytes()


@pytest.fixture
def fixture_feed() -> Callable[[str], bytes]:
    """A loader for the bundled real feeds."""
    return load_feed
