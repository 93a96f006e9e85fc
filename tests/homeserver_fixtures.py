"""Session-wide real Synapse for the homeserver tier, and a helper to create fresh users."""

from collections.abc import AsyncIterator
from uuid import uuid4

import pytest
import pytest_asyncio

from bot.sandbox.synapse import LocalSynapse, SynapseUser


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def synapse(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[LocalSynapse]:
    """Start one homeserver with relaxed rate limits for the whole test session."""
    async with LocalSynapse(tmp_path_factory.mktemp("synapse")) as server:
        yield server


async def new_user(synapse: LocalSynapse, prefix: str) -> SynapseUser:
    """Register a user whose localpart is `prefix` plus a unique suffix."""
    localpart = f"{prefix.lower()}-{uuid4().hex[:12]}"
    return await synapse.register(localpart, uuid4().hex)
