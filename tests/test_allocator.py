"""glibc's allocator settings: taken on glibc, nothing done (and nothing raised) elsewhere."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

from bot import allocator

ON_GLIBC = platform.libc_ver()[0] == "glibc"


@pytest.mark.skipif(not ON_GLIBC, reason="glibc only")
def test_glibc_takes_the_arena_limit_in_a_fresh_process() -> None:
    """In a process that has started no thread yet, as ``ssphub-bot run`` calls it."""
    code = "from bot.allocator import limit_arenas; assert limit_arenas()"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_giving_back_free_pages_is_harmless() -> None:
    """It answers whether pages were returned; a second call right after is as safe."""
    assert isinstance(allocator.give_back(), bool)
    assert isinstance(allocator.give_back(), bool)


def test_without_glibc_both_calls_do_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """No glibc found (musl, macOS): False, and no call into the C library."""
    monkeypatch.setattr(allocator, "_glibc", lambda: None)
    assert allocator.limit_arenas() is False
    assert allocator.give_back() is False
