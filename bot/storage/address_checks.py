"""Codes mailed to confirm an address: one pending check per member, only a salted hash kept."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage.models import AddressCheckRow

CODE_DIGITS = 6


@dataclass(frozen=True)
class AddressCheck:
    """An address waiting for its code, in the DM and language the member asked in."""

    user_id: str
    room_id: str
    email: str
    language: str
    attempts: int
    expires_at: datetime


def new_code() -> str:
    """Six random digits."""
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def _hash(code: str, salt: str) -> str:
    return hashlib.sha256(f"{salt}:{code}".encode()).hexdigest()


async def put(session: AsyncSession, check: AddressCheck, code: str, now: datetime) -> None:
    """Replace the member's pending check with ``check``, for ``code``."""
    await forget(session, check.user_id)
    salt = secrets.token_hex(16)
    session.add(
        AddressCheckRow(
            user_id=check.user_id, room_id=check.room_id, email=check.email,
            code_hash=f"{salt}${_hash(code, salt)}", language=check.language, attempts=0,
            created_at=now, expires_at=check.expires_at,
        )
    )  # fmt: skip
    await session.flush()


async def pending(session: AsyncSession, user_id: str) -> AddressCheck | None:
    """The member's check waiting for its code, if any (expired ones included)."""
    row = await session.get(AddressCheckRow, user_id)
    if row is None:
        return None
    return AddressCheck(
        row.user_id, row.room_id, row.email, row.language, row.attempts, row.expires_at
    )


async def matches(session: AsyncSession, user_id: str, code: str) -> bool:
    """Whether ``code`` is the member's; a wrong one counts as an attempt."""
    row = await session.get(AddressCheckRow, user_id)
    if row is None:
        return False
    salt, _, digest = row.code_hash.partition("$")
    if hmac.compare_digest(digest, _hash(code, salt)):
        return True
    await session.execute(
        update(AddressCheckRow)
        .where(AddressCheckRow.user_id == user_id)
        .values(attempts=AddressCheckRow.attempts + 1)
    )
    return False


async def forget(session: AsyncSession, user_id: str) -> None:
    """Drop the member's pending check (and the address it holds)."""
    await session.execute(delete(AddressCheckRow).where(AddressCheckRow.user_id == user_id))


async def forget_expired(session: AsyncSession, now: datetime) -> int:
    """Drop every check past its time (the addresses they hold included); how many."""
    result = await session.execute(delete(AddressCheckRow).where(AddressCheckRow.expires_at < now))
    return int(getattr(result, "rowcount", 0) or 0)
