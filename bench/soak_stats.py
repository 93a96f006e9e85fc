"""The soak's figures: the bot process and its database sampled from /proc and the disk, the
per-interval line, least-squares slopes, and the exactly-once checks at the end."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from command_latency import percentile
from processes import memory
from soak_room import Ledger

MIB = 1024 * 1024


@dataclass(frozen=True)
class Sample:
    """One look at the bot: seconds since the load began, memory in KiB, open fds, bytes on disk."""

    elapsed: float
    rss_kib: int
    hwm_kib: int
    fds: int
    threads: int
    db_bytes: int


def database_bytes(path: Path) -> int:
    """The SQLite file and its write-ahead log, in bytes."""
    wal = path.with_name(path.name + "-wal")
    return sum(p.stat().st_size for p in (path, wal) if p.exists())


def sample(pid: int, database: Path, elapsed: float) -> Sample:
    """The bot process's memory and file descriptors now, and its database's size."""
    used = memory(pid)
    fds = len(os.listdir(f"/proc/{pid}/fd"))
    threads = len(os.listdir(f"/proc/{pid}/task"))
    return Sample(elapsed, used.rss_kib, used.hwm_kib, fds, threads, database_bytes(database))


HEADER = (
    f"{'elapsed':>8}{'RSS':>8}{'peak':>8}{'fds':>5}{'thr':>5}{'db MiB':>8}{'answered/sent':>15}"
    f"{'reminders':>10}{'announced':>10}{'p50 ms':>8}{'p95 ms':>8}"
)


def interval_line(now: Sample, ledger: Ledger, since: float) -> str:
    """One row: the sample, the ledger's counts so far, the latency of this interval's replies."""
    latencies = ledger.latencies(since)
    p50, p95 = (f"{percentile(latencies, q):8.0f}" if latencies else f"{'-':>8}" for q in (50, 95))
    answered = f"{ledger.answered()}/{len(ledger.sent)}"
    fired = sum(ledger.fired.values())
    minutes, seconds = divmod(int(now.elapsed), 60)
    return (
        f"{minutes:5d}:{seconds:02d}{now.rss_kib / 1024:8.1f}{now.hwm_kib / 1024:8.1f}"
        f"{now.fds:5d}{now.threads:5d}{now.db_bytes / MIB:8.2f}{answered:>15}{fired:10d}"
        f"{sum(ledger.announced.values()):10d}{p50}{p95}"
    )


def slope(points: Sequence[tuple[float, float]]) -> float | None:
    """Least-squares slope of (seconds, MiB) points, in MiB per hour; None under 3 points."""
    if len(points) < 3:
        return None
    n = len(points)
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    spread = sum((x - mean_x) ** 2 for x, _ in points)
    if spread == 0:
        return None
    covariance = sum((x - mean_x) * (y - mean_y) for x, y in points)
    return covariance / spread * 3600


def slope_lines(samples: Sequence[Sample], warmup: float) -> list[str]:
    """RSS and database slopes over the whole run, after the warm-up, over the last hour (or the
    last half of a shorter run)."""
    end = samples[-1].elapsed if samples else 0.0
    tail = min(3600.0, end / 2)
    windows = (
        ("whole run", 0.0),
        (f"after warm-up ({warmup / 60:g} min)", warmup),
        (f"last {tail / 60:.0f} min", end - tail),
    )
    lines = ["slopes, MiB/hour (least squares)      RSS  database"]
    for label, start in windows:
        kept = [s for s in samples if s.elapsed >= start]
        rss = slope([(s.elapsed, s.rss_kib / 1024) for s in kept])
        db = slope([(s.elapsed, s.db_bytes / MIB) for s in kept])
        cells = "".join(f"{v:10.2f}" if v is not None else f"{'-':>10}" for v in (rss, db))
        lines.append(f"  {label:34}{cells}   ({len(kept)} samples)")
    return lines


def exactly_once(ledger: Ledger, newsletter: str | None) -> list[tuple[str, bool]]:
    """Each check and whether it held; ``newsletter`` is the announcement expected once, if any."""
    counts = [ledger.replies.get(event_id, 0) for event_id in ledger.sent]
    missing, twice = counts.count(0), sum(1 for c in counts if c > 1)
    fired = [ledger.fired[tag] for tag in ledger.reminders]
    unknown = sorted(set(ledger.fired) - set(ledger.reminders))
    repeated = sorted(line for line, count in ledger.announced.items() if count > 1)
    checks = [
        (f"commands answered exactly once: {counts.count(1)} of {len(counts)} "
         f"({missing} unanswered, {twice} answered twice or more)", missing == twice == 0),
        (f"reminders fired exactly once: {fired.count(1)} of {len(fired)}"
         f"{f', unknown fired: {unknown}' if unknown else ''}",
         all(c == 1 for c in fired) and not unknown),
        (f"announcements, each once: {len(ledger.announced)} distinct"
         f"{f', repeated: {repeated}' if repeated else ''}", not repeated),
        (f"messages from the bot left undecryptable: {ledger.undecryptable}",
         ledger.undecryptable == 0),
        (f"sends refused by the homeserver: {len(ledger.send_failures)}",
         not ledger.send_failures),
    ]  # fmt: skip
    if newsletter is not None:
        seen = sum(count for line, count in ledger.announced.items() if newsletter in line)
        checks.append((f"the newsletter that came and went announced {seen} time(s)", seen == 1))
    return checks
