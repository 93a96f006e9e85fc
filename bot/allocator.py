"""glibc's memory allocator, told to keep less: the bot is one long-lived process with a few
threads (aiosqlite's connection, the feed parser's worker), and glibc gives a thread that meets
contention an arena of its own, whose freed pages stay resident. Two arenas at most, and the
free pages handed back once the start is over: about 1 MiB less when idle (``bench/README.md``,
``footprint.py``). Not after each feed poll: 1 to 4 ms a time for 0.2 to 0.6 MiB. Elsewhere
than glibc (musl, macOS) both calls do nothing."""

from __future__ import annotations

import ctypes
from functools import cache

M_ARENA_MAX = -8  # glibc's malloc.h
ARENAS = 2  # the main arena and one more, shared by the worker threads


@cache
def _glibc() -> ctypes.CDLL | None:
    """The C library this process runs on, when it is glibc (the functions below are glibc's
    own); looked up among the loaded symbols, with no search for the library's file."""
    try:
        libc = ctypes.CDLL(None)
        libc.gnu_get_libc_version  # noqa: B018  (only glibc has it)
    except (OSError, AttributeError):
        return None
    return libc


def limit_arenas(arenas: int = ARENAS) -> bool:
    """At most ``arenas`` allocation arenas; call it before the first thread starts. True when
    glibc took it."""
    libc = _glibc()
    return libc is not None and bool(libc.mallopt(M_ARENA_MAX, arenas))


def give_back() -> bool:
    """Return the allocator's free pages to the system (once, after the start); True when some
    were."""
    libc = _glibc()
    return libc is not None and bool(libc.malloc_trim(0))
