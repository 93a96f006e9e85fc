"""The subscriber list in and out: export in the hub's Grist ``Contact`` shape, Grist CSV import."""

from __future__ import annotations

import csv
import io
import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.errors import ImportFileError
from bot.messages import Document
from bot.services.subscriptions.addresses import domain_of, name_for, normalise_address
from bot.storage import subscriptions as store
from bot.storage.db import erasing
from bot.storage.subscriptions import IMPORT, IMPORTED, Contact, Subscriber

log = logging.getLogger(__name__)

# The Grist table's own columns first, so the file imports there as it is; then ours.
# Confirmation_adresse: tchap (the Tchap id encodes the address), code (confirmed by a code
# mailed to it), import (from the Grist table), unconfirmed (nothing confirms it).
COLUMNS = (
    "Email", "Nom", "Nom_domaine", "Supprimez_mon_compte", "Matrix_id", "Date_inscription",
    "Date_consentement", "Version_consentement", "Envoi_MP", "MP_injoignable_depuis", "Source",
    "Confirmation_adresse",
)  # fmt: skip
TRUE_WORDS = frozenset({"true", "1", "oui", "yes", "vrai", "x", "y", "o", "t"})
FORMATS = ("csv", "json")


@dataclass
class ImportReport:
    """What an import did; rows are named by their line number, never by their address."""

    added: int = 0
    present: int = 0
    erased: int = 0
    invalid_lines: list[int] = field(default_factory=list)


def _when(moment: datetime | None, tz: ZoneInfo) -> str | None:
    return None if moment is None else moment.astimezone(tz).isoformat(timespec="seconds")


def record(subscriber: Subscriber, tz: ZoneInfo) -> dict[str, Any]:
    """One subscriber as a row of the export (``None`` where nothing is known)."""
    values = (
        subscriber.email, subscriber.name, subscriber.domain, False, subscriber.user_id,
        _when(subscriber.subscribed_at, tz), _when(subscriber.consent_at, tz),
        subscriber.consent_version, subscriber.dm_delivery,
        _when(subscriber.dm_unreachable_at, tz), subscriber.source, subscriber.address_status,
    )  # fmt: skip
    return dict(zip(COLUMNS, values, strict=True))


def _csv_cell(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def to_csv(subscribers: Iterable[Subscriber], tz: ZoneInfo) -> bytes:
    """The subscribers as UTF-8 CSV with a header line, in the Grist table's shape."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    for subscriber in subscribers:
        writer.writerow([_csv_cell(value) for value in record(subscriber, tz).values()])
    return buffer.getvalue().encode("utf-8")


def to_json(subscribers: Iterable[Subscriber], tz: ZoneInfo) -> bytes:
    """The subscribers as a JSON list of objects with the same keys as the CSV."""
    rows = [record(subscriber, tz) for subscriber in subscribers]
    return json.dumps(rows, ensure_ascii=False, indent=2).encode("utf-8")


def export_document(subscribers: Sequence[Subscriber], tz: ZoneInfo, now: datetime) -> Document:
    """The CSV export as a file to send, named after its day."""
    day = now.astimezone(tz).date().isoformat()
    return Document(f"abonnes-infolettre-{day}.csv", "text/csv", to_csv(subscribers, tz))


async def export(session: AsyncSession, fmt: str, tz: ZoneInfo) -> bytes:
    """Every active subscriber in ``fmt`` (``csv`` or ``json``)."""
    subscribers = await store.active(session)
    return to_json(subscribers, tz) if fmt == "json" else to_csv(subscribers, tz)


# --- import --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GristRow:
    """One line of the Grist export: its number, the address as typed, and what it asks."""

    line: int
    email: str
    name: str
    domain: str
    delete: bool


def read_grist_csv(text: str) -> list[GristRow]:
    """The rows of a CSV exported from the Grist ``Contact`` table (headers in any case)."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    headers = {name.strip().lower(): name for name in reader.fieldnames or []}
    email_column = headers.get("email") or headers.get("e-mail")
    if email_column is None:
        raise ImportFileError("no Email column in the header line")

    def cell(row: dict[str, Any], name: str) -> str:
        column = headers.get(name.lower())
        return str(row.get(column) or "").strip() if column else ""

    return [
        GristRow(
            reader.line_num, cell(row, email_column), cell(row, "Nom"), cell(row, "Nom_domaine"),
            cell(row, "Supprimez_mon_compte").lower() in TRUE_WORDS,
        )
        for row in reader
    ]  # fmt: skip


async def apply_import(
    session: AsyncSession, rows: Sequence[GristRow], now: datetime
) -> ImportReport:
    """Add unknown addresses, erase those marked for deletion, leave known ones: idempotent."""
    report = ImportReport()
    for row in rows:
        address = normalise_address(row.email)
        if address is None:
            report.invalid_lines.append(row.line)
            continue
        await _import_one(session, row, address, now, report)
    log.info("import: %d added, %d already present, %d erased, %d invalid", report.added,
             report.present, report.erased, len(report.invalid_lines))  # fmt: skip
    return report


async def _import_one(
    session: AsyncSession, row: GristRow, address: str, now: datetime, report: ImportReport
) -> None:
    holders = await store.with_email(session, address)
    if row.delete:
        for holder in holders:
            await store.erase(session, holder.id, now)
        if holders:
            erasing(session)
            report.erased += 1
        return
    if holders:
        report.present += 1
        return
    name = row.name or name_for(address, None)
    contact = Contact(address, name, row.domain.lower() or domain_of(address), IMPORTED)
    await store.add(session, contact=contact, source=IMPORT, now=now)
    report.added += 1
