"""Newsletter commands from the room and the DM: offers, consent, preferences, erasure, export."""

from __future__ import annotations

import csv
import io
import logging
from datetime import timedelta

import pytest

from bot.commands.subscriptions import (
    parse_address_arg,
    parse_dm_arg,
    parse_export_arg,
    router,
)
from bot.errors import UsageError
from bot.i18n import LANGUAGES, catalogue
from bot.messages import IncomingMessage
from bot.services.subscriptions import CONSENT_VERSION
from bot.storage.db import Database
from tests.fakes import FakeClock
from tests.subscriptions_rig import ALICE, CAMILLE, HUB, JEAN, ORGANISER, SubscriptionRig

ADDRESS = "camille.durand@insee.fr"


@pytest.fixture
def rig(db: Database, fake_clock: FakeClock) -> SubscriptionRig:
    return SubscriptionRig.build(db, fake_clock)


def no_address_in(bodies: list[str]) -> bool:
    return not any("@" in body.replace(CAMILLE, "").replace(JEAN, "") for body in bodies)


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_command_has_words_usage_and_help(language: str) -> None:
    """Each subscription command has its word, usage and help line in each language."""
    t = catalogue(language)
    for command in router.commands:
        assert command.words[language] and t(command.help_key) and t.has(command.usage_key)


def test_address_argument_is_checked() -> None:
    """A bare !abonner asks for an offer; a malformed address is a usage error."""
    assert parse_address_arg("  ") is None
    assert parse_address_arg(" Prenom.Nom@Insee.FR ") == "prenom.nom@insee.fr"
    with pytest.raises(UsageError):
        parse_address_arg("prenom.nom@insee")


def test_dm_option_and_export_word_are_parsed() -> None:
    """`mp oui|non` (or `dm yes|no`) and `export` are understood; anything else is refused."""
    assert parse_dm_arg("") is None
    assert parse_dm_arg("mp oui") is True and parse_dm_arg("DM no") is False
    assert parse_export_arg("") is False and parse_export_arg("export") is True
    for bad in ("mp", "mp peut-être", "oui"):
        with pytest.raises(UsageError):
            parse_dm_arg(bad)
    with pytest.raises(UsageError):
        parse_export_arg("csv")


async def test_subscribing_from_the_room_moves_to_the_dm_and_oui_confirms(
    rig: SubscriptionRig,
) -> None:
    """!abonner in the room proposes the Tchap address in the DM; « oui » there subscribes."""
    await rig.say(CAMILLE, "!abonner")
    dm = rig.direct.dms[CAMILLE]
    assert await rig.bodies(HUB) == ["Je vous ai répondu en message privé 📬"]
    proposal = await rig.last(dm)
    assert ADDRESS in proposal and "« oui »" in proposal and "!desabonner" in proposal
    await rig.say(CAMILLE, "Oui !", room_id=dm)
    assert ADDRESS in await rig.last(dm) and "C’est fait" in await rig.last(dm)
    subscriber = await rig.subscriber(CAMILLE)
    assert subscriber is not None and subscriber.email == ADDRESS
    assert subscriber.consent_at == rig.clock.now()
    assert subscriber.consent_version == CONSENT_VERSION
    assert (subscriber.domain, subscriber.dm_delivery, subscriber.dm_room_id) == (
        "insee.fr",
        True,
        dm,
    )
    assert no_address_in(await rig.bodies(HUB))


async def test_ambiguous_id_lists_candidates_and_a_number_chooses(rig: SubscriptionRig) -> None:
    """With two possible splits the DM lists both; « 1 » picks the first one listed."""
    await rig.say(JEAN, "!abonner")
    dm = rig.direct.dms[JEAN]
    proposal = await rig.last(dm)
    assert "1. jean.marie-dupont@interieur.gouv.fr" in proposal
    assert "2. jean.marie@dupont-interieur.gouv.fr" in proposal
    await rig.say(JEAN, "oui", room_id=dm)
    assert "numéro de 1 à 2" in await rig.last(dm)
    await rig.say(JEAN, "1", room_id=dm)
    subscriber = await rig.subscriber(JEAN)
    assert subscriber is not None and subscriber.email == "jean.marie-dupont@interieur.gouv.fr"


async def test_thumbs_up_on_the_proposal_confirms(rig: SubscriptionRig) -> None:
    """A 👍 reaction on the bot's proposal subscribes; one on another event does nothing."""
    await rig.say(CAMILLE, "!abonner")
    dm = rig.direct.dms[CAMILLE]
    await rig.mark_all_sent()
    proposal_event = f"$sent{await rig.outbox_id_of_last(dm)}"
    await rig.react(CAMILLE, dm, "$something-else")
    assert await rig.subscriber(CAMILLE) is None
    await rig.react(CAMILLE, dm, proposal_event, key="👍🏽")
    subscriber = await rig.subscriber(CAMILLE)
    assert subscriber is not None and subscriber.email == ADDRESS


async def test_a_wrong_address_is_corrected_in_the_dm(rig: SubscriptionRig) -> None:
    """Given another address instead, then a corrected one, the last one is kept, re-consented."""
    await rig.say(CAMILLE, "!abonner")
    dm = rig.direct.dms[CAMILLE]
    await rig.say(CAMILLE, "!abonner camile.durand@insee.fr", room_id=dm)
    rig.clock.advance(60)
    await rig.say(CAMILLE, "!abonner camille.durand@insee.fr", room_id=dm)
    subscriber = await rig.subscriber(CAMILLE)
    assert subscriber is not None and subscriber.email == ADDRESS
    assert subscriber.consent_at == rig.clock.now()
    assert len(await rig.rows()) == 1
    assert await rig.bodies(HUB) == ["Je vous ai répondu en message privé 📬"]


async def test_a_typed_address_in_the_dm_answers_the_offer(rig: SubscriptionRig) -> None:
    """With no address in the id, the member simply types it in the DM."""
    await rig.say(ALICE, "!abonner")
    dm = rig.direct.dms[ALICE]
    assert "Quelle adresse" in await rig.last(dm)
    await rig.say(ALICE, "alice.martin@agriculture.gouv.fr", room_id=dm)
    subscriber = await rig.subscriber(ALICE)
    assert subscriber is not None and subscriber.email == "alice.martin@agriculture.gouv.fr"


async def test_an_address_typed_in_the_room_is_answered_only_in_the_dm(
    rig: SubscriptionRig,
) -> None:
    """!abonner with an address in the room subscribes, confirms in the DM, warns in the room."""
    await rig.say(ALICE, "!abonner alice.martin@agriculture.gouv.fr")
    assert "ne l’écrivez que là" in await rig.last(HUB)
    assert no_address_in(await rig.bodies(HUB))
    assert "alice.martin@agriculture.gouv.fr" in await rig.last(rig.direct.dms[ALICE])


async def test_malformed_address_gets_the_usage(rig: SubscriptionRig) -> None:
    """A malformed address is refused with the command's usage, nothing stored."""
    await rig.direct.open(ALICE)
    dm = rig.direct.dms[ALICE]
    await rig.say(ALICE, "!abonner alice@", room_id=dm)
    assert "Utilisation : !abonner [adresse e-mail]" in await rig.last(dm)
    assert await rig.rows() == []


async def test_a_replayed_reply_is_answered_once(rig: SubscriptionRig) -> None:
    """The same « oui » event handed over twice subscribes and answers only once."""
    await rig.say(CAMILLE, "!abonner")
    dm = rig.direct.dms[CAMILLE]
    message_count = len(await rig.bodies(dm))
    oui = IncomingMessage(dm, "$oui", CAMILLE, "oui", rig.clock.now(), None, True)
    await rig.dispatcher.handle(oui)
    await rig.dispatcher.handle(oui)
    assert len(await rig.bodies(dm)) == message_count + 1


async def test_an_expired_offer_is_not_confirmed(rig: SubscriptionRig) -> None:
    """« oui » a week after the offer is ignored, and the offer is gone."""
    await rig.say(CAMILLE, "!abonner")
    dm = rig.direct.dms[CAMILLE]
    rig.clock.advance(timedelta(days=8).total_seconds())
    await rig.say(CAMILLE, "oui", room_id=dm)
    assert await rig.subscriber(CAMILLE) is None


async def test_subscription_shows_what_is_stored_only_in_the_dm(rig: SubscriptionRig) -> None:
    """!abonnement in the room: the details go to the DM, the room is told where."""
    await rig.say(CAMILLE, "!abonner")
    await rig.say(CAMILLE, "oui", room_id=rig.direct.dms[CAMILLE])
    await rig.say(CAMILLE, "!abonnement")
    details = await rig.last(rig.direct.dms[CAMILLE])
    assert ADDRESS in details and CAMILLE in details and CONSENT_VERSION in details
    assert "en message privé : oui" in details
    assert await rig.last(HUB) == "Je vous ai répondu en message privé 📬"
    assert no_address_in(await rig.bodies(HUB))


async def test_dm_delivery_can_be_turned_off_and_on(rig: SubscriptionRig) -> None:
    """!abonnement mp non stops delivery by DM; mp oui resumes it to the member's DM; both are
    answered in the DM, the room only hears that the answer went there."""
    await rig.say(CAMILLE, "!abonner camille.durand@insee.fr")
    await rig.say(CAMILLE, "!abonnement mp non")
    off = await rig.subscriber(CAMILLE)
    dm = rig.direct.dms[CAMILLE]
    assert off is not None and (off.dm_delivery, off.dm_room_id) == (False, None)
    assert "ne recevrez plus" in await rig.last(dm)
    await rig.say(CAMILLE, "!subscription dm yes")
    on = await rig.subscriber(CAMILLE)
    assert on is not None and (on.dm_delivery, on.dm_room_id) == (True, dm)
    assert await rig.last(dm) == "Noted: you will receive the newsletter by direct message."
    assert await rig.last(HUB) == "I answered you by direct message 📬"


async def test_a_non_subscriber_is_answered_in_the_dm_too(rig: SubscriptionRig) -> None:
    """Whether a member subscribes is theirs to know: !abonnement mp oui from someone who
    does not gets the same room answer as from a subscriber, the rest in the DM."""
    await rig.say(ALICE, "!abonnement mp oui")
    assert await rig.last(HUB) == "Je vous ai répondu en message privé 📬"
    assert "n’êtes pas abonné" in await rig.last(rig.direct.dms[ALICE])


async def test_unsubscribing_erases_the_personal_fields(rig: SubscriptionRig) -> None:
    """!desabonner empties every personal field of the row and says so; the dates stay."""
    await rig.say(CAMILLE, "!abonner camille.durand@insee.fr")
    await rig.say(CAMILLE, "!desabonner")
    erased = await rig.last(HUB)
    assert erased.startswith("C’est fait : vous êtes désabonné·e.")
    [row] = await rig.rows()
    personal = (row.user_id, row.email, row.name, row.domain, row.consent_at,
                row.consent_version, row.dm_room_id)  # fmt: skip
    assert personal == (None,) * 7 and row.dm_delivery is False
    assert row.unsubscribed_at == rig.clock.now() and row.subscribed_at is not None
    await rig.say(CAMILLE, "!desabonner")
    assert await rig.last(HUB) == erased  # nothing left to erase: the same words


async def test_organisers_count_and_export_by_dm(rig: SubscriptionRig) -> None:
    """!abonnes counts in the room; !abonnes export sends the CSV to the organiser's DM."""
    rig.direct.names[CAMILLE] = "Camille Durand [Insee]"
    await rig.say(CAMILLE, "!abonner camille.durand@insee.fr")
    await rig.say(ALICE, "!abonner alice.martin@agriculture.gouv.fr")
    await rig.say(ALICE, "!abonnement mp non")
    await rig.say(ORGANISER, "!abonnes")
    assert await rig.last(HUB) == (
        "Abonnés à l’infolettre : 2, dont 1 en message privé (0 injoignable(s) en message privé)."
    )
    await rig.say(ORGANISER, "!abonnes export")
    [upload] = rig.files.uploads
    assert upload.room_id == rig.direct.dms[ORGANISER] and upload.document.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(upload.document.data.decode())))
    seen = [(r["Email"], r["Nom"], r["Nom_domaine"], r["Matrix_id"], r["Envoi_MP"],
             r["Confirmation_adresse"]) for r in rows]  # fmt: skip
    assert seen == [
        ("camille.durand@insee.fr", "Camille Durand", "insee.fr", CAMILLE, "true", "tchap"),
        ("alice.martin@agriculture.gouv.fr", "Alice Martin", "agriculture.gouv.fr", ALICE, "false",
         "unconfirmed"),
    ]  # fmt: skip
    assert await rig.last(rig.direct.dms[ORGANISER]) == upload.document.filename
    assert await rig.last(HUB) == "Export de 2 abonné(s) envoyé en message privé (fichier CSV)."


async def test_members_cannot_export(rig: SubscriptionRig) -> None:
    """!abonnes is for organisers only; nothing is uploaded for a member."""
    await rig.say(ALICE, "!abonnes export")
    assert await rig.last(HUB) == "Cette commande est réservée aux organisateurs."
    assert rig.files.uploads == []


async def test_no_address_is_ever_logged(
    rig: SubscriptionRig, caplog: pytest.LogCaptureFixture
) -> None:
    """The whole journey, export included, logs ids and counts but never an address."""
    caplog.set_level(logging.DEBUG, logger="bot")
    await rig.say(CAMILLE, "!abonner")
    await rig.say(CAMILLE, "oui", room_id=rig.direct.dms[CAMILLE])
    await rig.say(CAMILLE, "!abonnement")
    await rig.say(ORGANISER, "!abonnes export")
    await rig.say(CAMILLE, "!desabonner")
    messages = [r.getMessage() for r in caplog.records if r.name.startswith("bot")]
    assert any("subscriber" in message for message in messages)
    assert not [message for message in messages if ADDRESS in message or "insee.fr" in message]


async def test_a_dm_reply_that_crashes_is_answered_with_a_reference(
    rig: SubscriptionRig, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A reply in the DM goes through the same error boundary as a command: the member gets a
    short answer with a reference, the same one as the logged traceback, and nothing else."""
    await rig.say(CAMILLE, "!abonner")
    dm = rig.direct.dms[CAMILLE]

    async def broken(*_args: object) -> bool:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(rig.dispatcher.services.subscriptions, "answer", broken)
    with caplog.at_level(logging.ERROR, logger="bot.commands.router"):
        await rig.say(CAMILLE, "oui", room_id=dm)
    answer = await rig.last(dm)
    ref = answer.split("(référence ", 1)[-1].split(")", 1)[0]
    assert answer.startswith(catalogue("fr")("router.internal_error", ref="").split("(")[0])
    assert any(ref in record.getMessage() for record in caplog.records)
    assert "database" not in answer and await rig.subscriber(CAMILLE) is None
