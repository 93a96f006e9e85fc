"""Time the cross-signing step adds to a start, beside the log-in it follows, in the same run.

Against a local Synapse, in-process, with the code ``ssphub-bot run`` uses (``Session.open``,
then ``IdentityKeeper.start``), end-to-end encryption on. For each of N fresh bot accounts:

- log-in: ``Session.open`` on an empty data directory (password log-in, device keys uploaded);
  the reference the step is added to;
- cold: the account has no identity: make, store (data_dir and Secret Storage), publish, sign;
- warm: the same device again: one keys query, nothing written (every later start);
- new device, keys in data_dir: the crypto store lost, a new device signed with the stored keys;
- new device, recovery key: data_dir wiped but the recovery key, keys taken from Secret Storage.

The whole start, spawn to first handled sync, is measured by ``footprint.py`` (its "signed"
column is this step inside the real process).

    python bench/identity.py [--runs 10]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from nio import AsyncClient

from bot.matrix.identity import IdentitySettings
from bot.matrix.identity_keeper import IdentityKeeper
from bot.matrix.session import LoginSettings, Session
from bot.sandbox.synapse import LocalSynapse
from bot.trust import KeySource

PASSWORD = "bench-bot"
PHASES = ("log-in", "cold", "warm", "new device, keys in data_dir", "new device, recovery key")


async def timed(work: Callable[[], Awaitable[object]]) -> tuple[float, object]:
    start = time.perf_counter()
    result = await work()
    return (time.perf_counter() - start) * 1000, result


async def login(synapse: LocalSynapse, user_id: str, data_dir: Path) -> AsyncClient:
    settings = LoginSettings(synapse.url, user_id, PASSWORD, None, "ssphub-bot", True)
    return await Session(settings, data_dir).open()


async def sign(client: AsyncClient, data_dir: Path, expected: KeySource) -> None:
    """The identity step of a start; the outcome must be ``expected``."""
    keeper = IdentityKeeper(client, IdentitySettings(data_dir, password=PASSWORD), lambda _: None)
    trust = await keeper.start()
    assert trust is not None and trust.source is expected, trust


async def one_account(synapse: LocalSynapse, base: Path, n: int) -> dict[str, float]:
    """The five phases for a fresh account, in milliseconds."""
    user = await synapse.register(f"bench-identity-{n}", PASSWORD)
    data_dir = base / f"bot-{n}"
    figures: dict[str, float] = {}
    figures["log-in"], client = await timed(lambda: login(synapse, user.user_id, data_dir))
    assert isinstance(client, AsyncClient)
    try:
        for phase, source in (("cold", KeySource.CREATED), ("warm", KeySource.ALREADY_SIGNED)):
            figures[phase], _ = await timed(lambda s=source: sign(client, data_dir, s))  # type: ignore[misc]
    finally:
        await client.close()
    figures["new device, keys in data_dir"] = await new_device(
        synapse, user.user_id, data_dir, lambda: shutil.rmtree(data_dir / "crypto"),
        KeySource.DATA_DIR,
    )  # fmt: skip
    figures["new device, recovery key"] = await new_device(
        synapse, user.user_id, data_dir, lambda: wipe_but(data_dir, "recovery-key.txt"),
        KeySource.SECRET_STORAGE,
    )  # fmt: skip
    return figures


async def new_device(
    synapse: LocalSynapse, user_id: str, data_dir: Path, lose: Callable[[], None],
    expected: KeySource,
) -> float:  # fmt: skip
    """Lose part of data_dir, log in as a new device, and time its signing."""
    lose()
    (data_dir / "session.json").unlink(missing_ok=True)
    client = await login(synapse, user_id, data_dir)
    try:
        elapsed, _ = await timed(lambda: sign(client, data_dir, expected))
    finally:
        await client.close()
    return elapsed


def wipe_but(data_dir: Path, keep: str) -> None:
    for path in data_dir.iterdir():
        if path.name != keep:
            shutil.rmtree(path) if path.is_dir() else path.unlink()


async def measure(runs: int, base: Path) -> list[dict[str, float]]:
    async with LocalSynapse(base / "synapse", relaxed_rate_limits=True) as synapse:
        return [await one_account(synapse, base, n) for n in range(runs)]


def report(results: list[dict[str, float]]) -> None:
    print(f"cross-signing step at start, milliseconds, {len(results)} fresh accounts")
    print(f"{'':32}{'median':>9}{'min':>9}{'max':>9}")
    for phase in PHASES:
        values = [figures[phase] for figures in results]
        print(f"{phase:32}{statistics.median(values):9.1f}{min(values):9.1f}{max(values):9.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="fresh bot accounts")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ssphub-bench-") as tmp:
        results = asyncio.run(measure(args.runs, Path(tmp)))
    report(results)


if __name__ == "__main__":
    main()
