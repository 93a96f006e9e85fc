"""Confirming an address by a code mailed to it, with a real local SMTP server: the code's way
there and back, wrong codes, expiry, and the same words whether someone else holds the address."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.storage import address_checks
from bot.storage.db import Database
from tests.fakes import FakeClock
from tests.mailserver import MailServer, code_in, mail_server
from tests.subscriptions_rig import ALICE, CAMILLE, HUB, JEAN, SubscriptionRig

OTHER = "camille.perso@example.org"  # not what CAMILLE's Tchap id encodes
MOVED_ADDRESS = (
    "Je vous ai répondu en message privé 📬 "
    "Pour protéger votre adresse e-mail, ne l’écrivez que là."
)


@pytest.fixture
def smtp() -> Iterator[MailServer]:
    with mail_server() as server:
        yield server


@pytest.fixture
def rig(db: Database, fake_clock: FakeClock, smtp: MailServer) -> SubscriptionRig:
    return SubscriptionRig.build(db, fake_clock, smtp.config(code_minutes=30))


async def test_the_code_mailed_to_the_address_confirms_it(
    rig: SubscriptionRig, smtp: MailServer
) -> None:
    """An address the Tchap id does not encode gets a code by mail, and nothing is stored until
    the member types it in the DM; then it is subscribed as confirmed by code."""
    await rig.say(CAMILLE, f"!abonner {OTHER}")
    dm = rig.direct.dms[CAMILLE]
    assert f"code à 6 chiffres à {OTHER}" in await rig.last(dm)
    assert await rig.subscriber(CAMILLE) is None
    mail = await smtp.next_to(OTHER)
    assert CAMILLE in str(mail.get_body(("plain",)).get_content())  # type: ignore[union-attr]
    await rig.say(CAMILLE, code_in(mail), room_id=dm)
    subscriber = await rig.subscriber(CAMILLE)
    assert subscriber is not None and (subscriber.email, subscriber.address_status) == (
        OTHER, "code"
    )  # fmt: skip
    assert (await rig.last(dm)).startswith(f"C’est fait : {OTHER} est inscrite")


async def test_the_address_of_the_tchap_id_needs_no_code(
    rig: SubscriptionRig, smtp: MailServer
) -> None:
    """The address the Tchap id encodes is the member's own: no mail, subscribed at once."""
    await rig.say(CAMILLE, "!abonner camille.durand@insee.fr")
    subscriber = await rig.subscriber(CAMILLE)
    assert subscriber is not None and subscriber.address_status == "tchap"
    assert smtp.received == []


async def test_wrong_codes_are_counted_then_the_check_is_dropped(
    rig: SubscriptionRig, smtp: MailServer
) -> None:
    """A wrong code says how many tries are left; the fifth wrong one ends the check, and the
    right code is then no longer accepted."""
    await rig.say(CAMILLE, f"!abonner {OTHER}")
    dm = rig.direct.dms[CAMILLE]
    right = code_in(await smtp.next_to(OTHER))
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    await rig.say(CAMILLE, wrong, room_id=dm)
    assert await rig.last(dm) == "Ce n’est pas le bon code. Il vous reste 4 essai(s)."
    for _ in range(4):
        await rig.say(CAMILLE, wrong, room_id=dm)
    assert (await rig.last(dm)).startswith("Trop d’essais")
    await rig.say(CAMILLE, right, room_id=dm)
    assert await rig.subscriber(CAMILLE) is None


async def test_an_expired_code_confirms_nothing(
    rig: SubscriptionRig, smtp: MailServer, fake_clock: FakeClock
) -> None:
    """A code typed after its validity subscribes nothing, and the check is forgotten."""
    await rig.say(CAMILLE, f"!abonner {OTHER}")
    dm = rig.direct.dms[CAMILLE]
    code = code_in(await smtp.next_to(OTHER))
    fake_clock.advance(31 * 60)
    await rig.say(CAMILLE, code, room_id=dm)
    assert (await rig.last(dm)).startswith("Ce code a expiré")
    assert await rig.subscriber(CAMILLE) is None
    async with rig.db.session() as session:
        assert await address_checks.pending(session, CAMILLE) is None


async def test_an_address_another_account_holds_gets_the_same_words_and_a_code(
    rig: SubscriptionRig, smtp: MailServer
) -> None:
    """Asking for an address Alice already subscribed gets, in the room and in the DM, the
    words any other address gets; the mail goes to the address's owner, and without the code
    nothing is recorded for the asker."""
    await rig.direct.open(ALICE)
    await rig.say(ALICE, "!abonner alice.martin@agriculture.gouv.fr", room_id=rig.direct.dms[ALICE])
    await rig.say(ALICE, code_in(await smtp.next_to("alice.martin@agriculture.gouv.fr")),
                  room_id=rig.direct.dms[ALICE])  # fmt: skip
    await rig.say(JEAN, "!abonner alice.martin@agriculture.gouv.fr")
    await rig.say(CAMILLE, "!abonner nobody.yet@agriculture.gouv.fr")
    taken = await rig.last(rig.direct.dms[JEAN])
    fresh = await rig.last(rig.direct.dms[CAMILLE])
    assert taken.replace("alice.martin", "X") == fresh.replace("nobody.yet", "X")
    assert (await rig.bodies(HUB))[-1] == (await rig.bodies(HUB))[-2]
    await smtp.next_to("alice.martin@agriculture.gouv.fr", seen=1)
    assert await rig.subscriber(JEAN) is None
    alice = await rig.subscriber(ALICE)
    assert alice is not None and alice.email == "alice.martin@agriculture.gouv.fr"


async def test_a_mail_that_cannot_be_sent_stores_nothing(
    rig: SubscriptionRig, smtp: MailServer
) -> None:
    """When the server refuses the address, the member is told in the DM and nothing is kept."""
    smtp.refused.add(OTHER)
    await rig.say(CAMILLE, f"!abonner {OTHER}")
    assert (await rig.last(rig.direct.dms[CAMILLE])).startswith("Je n’ai pas pu envoyer de code")
    async with rig.db.session() as session:
        assert await address_checks.pending(session, CAMILLE) is None
    assert await rig.subscriber(CAMILLE) is None


async def test_without_a_mail_server_an_address_someone_holds_is_kept_unconfirmed(
    db: Database, fake_clock: FakeClock
) -> None:
    """Without a mail server, an address the Tchap id does not encode is kept unconfirmed,
    and the answers are word for word those for an address nobody gave: nothing tells that
    another account holds it, and that account keeps it."""
    rig = SubscriptionRig.build(db, fake_clock)
    await rig.say(CAMILLE, "!abonner camille.durand@insee.fr")
    await rig.say(ALICE, "!abonner camille.durand@insee.fr")
    await rig.say(JEAN, "!abonner personne.encore@insee.fr")
    alice, jean = rig.direct.dms[ALICE], rig.direct.dms[JEAN]
    taken = (await rig.last(alice)).replace("camille.durand@insee.fr", "{}")
    fresh = (await rig.last(jean)).replace("personne.encore@insee.fr", "{}")
    assert taken == fresh and "non confirmée" in taken
    assert (await rig.bodies(HUB))[-2:] == [MOVED_ADDRESS, MOVED_ADDRESS]
    holder, claimant = await rig.subscriber(CAMILLE), await rig.subscriber(ALICE)
    assert holder is not None and holder.address_status == "tchap"
    assert claimant is not None and claimant.address_status == "unconfirmed"
