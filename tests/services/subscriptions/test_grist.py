"""The export in the Grist Contact shape, and the Grist CSV import: erasures, idempotence."""

from __future__ import annotations

import csv
import io
import json
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.errors import ImportFileError
from bot.services.subscriptions.grist import (
    COLUMNS,
    apply_import,
    export,
    read_grist_csv,
)
from bot.storage import subscriptions as store
from bot.storage.db import Database
from bot.storage.models import SubscriberRow
from bot.storage.subscriptions import TCHAP, Contact
from tests.fakes import FakeClock

PARIS = ZoneInfo("Europe/Paris")
GRIST = """\ufeffEmail,Nom,Nom_domaine,Supprimez_mon_compte,manualSort
camille.durand@insee.fr,Camille Durand,insee.fr,false,1
Jean.Dupont@Interieur.gouv.fr,,interieur.gouv.fr,,2
pas-une-adresse,Quelqu'un,,false,3
parti@insee.fr,Parti,insee.fr,true,4
camille.durand@insee.fr,Camille Durand,insee.fr,false,5
"""


async def imported(db: Database, text: str, clock: FakeClock) -> tuple[int, int, int, list[int]]:
    async with db.session() as session:
        report = await apply_import(session, read_grist_csv(text), clock.now())
    return report.added, report.present, report.erased, report.invalid_lines


async def emails(db: Database) -> list[str | None]:
    async with db.session() as session:
        return list(await session.scalars(select(SubscriberRow.email).order_by(SubscriberRow.id)))


async def test_grist_import_adds_skips_and_is_idempotent(
    db: Database, fake_clock: FakeClock
) -> None:
    """Valid new addresses are added once; invalid lines are named; a second run adds nothing."""
    assert await imported(db, GRIST, fake_clock) == (2, 1, 0, [4])
    assert await emails(db) == ["camille.durand@insee.fr", "jean.dupont@interieur.gouv.fr"]
    assert await imported(db, GRIST, fake_clock) == (0, 3, 0, [4])
    async with db.session() as session:
        (jean,) = await store.with_email(session, "jean.dupont@interieur.gouv.fr")
    assert (jean.name, jean.domain, jean.source, jean.address_status) == (
        "Jean Dupont",
        "interieur.gouv.fr",
        "import",
        "import",
    )
    assert jean.consent_at is None and jean.dm_delivery is False


async def test_rows_marked_for_deletion_are_erased_not_imported(
    db: Database, fake_clock: FakeClock
) -> None:
    """Supprimez_mon_compte true erases a stored subscriber, whatever their source."""
    async with db.session() as session:
        await store.add(
            session, contact=Contact("parti@insee.fr", "Parti", "insee.fr"), source=TCHAP,
            now=fake_clock.now(), user_id="@parti-insee.fr:tchap", consent_version="v1",
        )  # fmt: skip
    assert await imported(db, GRIST, fake_clock) == (2, 1, 1, [4])
    assert "parti@insee.fr" not in await emails(db)
    assert await imported(db, GRIST, fake_clock) == (0, 3, 0, [4])


def test_a_file_without_an_email_column_is_refused() -> None:
    """A CSV that is not the contact table is refused before anything is written."""
    with pytest.raises(ImportFileError, match="Email"):
        read_grist_csv("Nom,Domaine\nCamille,insee.fr\n")


async def test_export_has_the_grist_columns_first_then_ours(
    db: Database, fake_clock: FakeClock
) -> None:
    """CSV and JSON carry Email, Nom, Nom_domaine first, then Matrix id, dates and options."""
    async with db.session() as session:
        await store.add(
            session, contact=Contact("camille.durand@insee.fr", "Camille Durand", "insee.fr"),
            source=TCHAP, now=fake_clock.now(), user_id="@camille:tchap", consent_version="v1",
            dm_room_id="!dm:tchap",
        )  # fmt: skip
        text = (await export(session, "csv", PARIS)).decode()
        data = json.loads(await export(session, "json", PARIS))
    reader = csv.DictReader(io.StringIO(text))
    assert tuple(reader.fieldnames or ()) == COLUMNS
    [row] = list(reader)
    assert row["Email"] == "camille.durand@insee.fr" and row["Nom_domaine"] == "insee.fr"
    assert row["Supprimez_mon_compte"] == "false" and row["Envoi_MP"] == "true"
    assert row["Date_consentement"] == "2026-03-02T10:00:00+01:00"
    assert data == [{**row, "Supprimez_mon_compte": False, "Envoi_MP": True,
                     "MP_injoignable_depuis": None}]  # fmt: skip


async def test_exported_csv_imports_back_as_already_present(
    db: Database, fake_clock: FakeClock
) -> None:
    """The export is itself a valid Grist file: importing it changes nothing."""
    assert await imported(db, GRIST, fake_clock) == (2, 1, 0, [4])
    async with db.session() as session:
        text = (await export(session, "csv", PARIS)).decode()
    assert await imported(db, text, fake_clock) == (0, 2, 0, [])
