"""Newsletter sign-up end to end: real Synapse, real encrypted DMs, the real bot and members."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from uuid import uuid4

import pytest
import pytest_asyncio
from nio import RoomMessagesResponse

from bot.cli import main
from bot.matrix.member import Member, Seen
from bot.storage import subscriptions as store
from bot.storage.models import SubscriberRow
from tests.homeserver.conftest import Community
from tests.homeserver.harness import member

pytestmark = pytest.mark.homeserver
MOVED = "Je vous ai répondu en message privé 📬"
Join = Callable[[str], Awaitable[Member]]


@pytest_asyncio.fixture(loop_scope="session")
async def newcomers(community: Community, tmp_path: Path) -> AsyncIterator[Join]:
    """Members with Tchap-shaped ids joining the community room; stopped at the end."""
    started: list[Member] = []

    async def join(localpart: str) -> Member:
        user = await community.synapse.register(localpart, uuid4().hex)
        client = await member(community.synapse, user, tmp_path)
        started.append(client)
        client.accept_invites()
        await community.orga.client.room_invite(community.room_id, user.user_id)
        await client.join(community.room_id)
        await client.wait_for_member(community.room_id, community.bot_user.user_id, timeout=30)
        return client

    try:
        yield join
    finally:
        for client in started:
            await client.stop()


def from_bot_in_dm(community: Community, start: str = "") -> Callable[[Seen], bool]:
    """A message from the bot, outside the community room, starting with ``start``."""
    bot = community.bot_user.user_id
    return lambda s: s.sender == bot and s.room_id != community.room_id and s.body.startswith(start)


async def room_bodies(who: Member, room_id: str) -> list[str]:
    response = await who.client.room_messages(room_id, limit=100)
    assert isinstance(response, RoomMessagesResponse)
    return [getattr(event, "body", "") for event in response.chunk]


async def subscriber_of(community: Community, user_id: str) -> store.Subscriber | None:
    async with community.app.db.session() as session:
        return await store.by_user(session, user_id)


async def ask(who: Member, room_id: str, text: str) -> Seen:
    event_id = await who.send_text(room_id, text)
    return await who.wait_for_reply(room_id, event_id, timeout=30)


async def test_sign_up_from_the_room_in_two_messages(community: Community, newcomers: Join) -> None:
    """!abonner in the room, « oui » in the encrypted DM: subscribed, no address in the room."""
    localpart = f"camille.durand{uuid4().hex[:6]}-insee.fr"
    address = localpart.replace("-insee.fr", "@insee.fr")
    camille = await newcomers(localpart)
    assert (await ask(camille, community.room_id, "!abonner")).body == MOVED
    proposal = await camille.wait_for(from_bot_in_dm(community, "Bonjour"), timeout=30)
    assert proposal.decrypted and address in proposal.body
    done = await ask(camille, proposal.room_id, "oui")
    assert done.decrypted and address in done.body and done.body.startswith("C’est fait")
    subscriber = await subscriber_of(community, camille.user_id)
    assert subscriber is not None and subscriber.email == address
    assert subscriber.dm_room_id == proposal.room_id and subscriber.consent_at is not None
    details = await ask(camille, proposal.room_id, "!abonnement")
    assert address in details.body and "en message privé : oui" in details.body
    assert not [body for body in await room_bodies(camille, community.room_id) if address in body]


async def test_ambiguous_id_and_a_thumbs_up(community: Community, newcomers: Join) -> None:
    """Two candidates are listed and a number chooses; a 👍 on a single proposal confirms."""
    suffix = uuid4().hex[:6]
    jean = await newcomers(f"jean.marie{suffix}-dupont-interieur.gouv.fr")
    await ask(jean, community.room_id, "!abonner")
    proposal = await jean.wait_for(from_bot_in_dm(community, "Bonjour"), timeout=30)
    assert f"1. jean.marie{suffix}-dupont@interieur.gouv.fr" in proposal.body
    assert f"2. jean.marie{suffix}@dupont-interieur.gouv.fr" in proposal.body
    await ask(jean, proposal.room_id, "2")
    chosen = await subscriber_of(community, jean.user_id)
    assert chosen is not None and chosen.email == f"jean.marie{suffix}@dupont-interieur.gouv.fr"
    lea = await newcomers(f"lea.martin{suffix}-insee.fr")
    await ask(lea, community.room_id, "!abonner")
    offer = await lea.wait_for(from_bot_in_dm(community, "Bonjour"), timeout=30)
    await lea.react(offer.room_id, offer.event_id, "👍")
    await lea.wait_for(from_bot_in_dm(community, "C’est fait"), timeout=30)
    confirmed = await subscriber_of(community, lea.user_id)
    assert confirmed is not None and confirmed.email == f"lea.martin{suffix}@insee.fr"


async def test_a_wrong_address_is_corrected_then_erased(
    community: Community, newcomers: Join
) -> None:
    """A typo is replaced by a second !abonner in the DM; !desabonner erases the row's data."""
    camille = await newcomers(f"camille.roux{uuid4().hex[:6]}-insee.fr")
    await ask(camille, community.room_id, "!abonner")
    dm = (await camille.wait_for(from_bot_in_dm(community, "Bonjour"), timeout=30)).room_id
    await ask(camille, dm, "!abonner camile.roux@insee.fr")
    fixed = await ask(camille, dm, "!abonner camille.roux@insee.fr")
    assert "camille.roux@insee.fr" in fixed.body
    subscriber = await subscriber_of(community, camille.user_id)
    assert subscriber is not None and subscriber.email == "camille.roux@insee.fr"
    erased = await ask(camille, community.room_id, "!desabonner")
    assert erased.body.startswith("C’est fait : vous êtes désabonné·e.")
    async with community.app.db.session() as session:
        row = await session.get(SubscriberRow, subscriber.id)
    assert row is not None and row.unsubscribed_at is not None
    assert (row.user_id, row.email, row.name, row.domain, row.dm_room_id) == (None,) * 5


async def test_export_reaches_the_organiser_as_an_encrypted_file(
    community: Community, newcomers: Join
) -> None:
    """!abonnes export: an encrypted m.file in the organiser's DM, holding the Grist CSV."""
    localpart = f"paul.petit{uuid4().hex[:6]}-insee.fr"
    paul = await newcomers(localpart)
    await ask(paul, community.room_id, "!abonner")
    dm = (await paul.wait_for(from_bot_in_dm(community, "Bonjour"), timeout=30)).room_id
    await ask(paul, dm, "oui")
    community.orga.accept_invites()
    answer = await ask(community.orga, community.room_id, "!abonnes export")
    assert answer.body == "Export de 1 abonné(s) envoyé en message privé (fichier CSV)."
    sent = await community.orga.wait_for(lambda s: s.content.get("msgtype") == "m.file", 30)
    assert sent.decrypted and "file" in sent.content and "url" not in sent.content
    rows = list(csv.DictReader(io.StringIO((await community.orga.download(sent.content)).decode())))
    assert [(r["Email"], r["Nom_domaine"], r["Matrix_id"], r["Envoi_MP"]) for r in rows] == [
        (localpart.replace("-insee.fr", "@insee.fr"), "insee.fr", paul.user_id, "true")
    ]


async def test_grist_import_then_a_member_claims_the_address(
    community: Community, newcomers: Join, tmp_path: Path
) -> None:
    """The CLI imports a Grist CSV into the running bot's database; its member then confirms."""
    localpart = f"nina.bleu{uuid4().hex[:6]}-insee.fr"
    address = localpart.replace("-insee.fr", "@insee.fr")
    grist = tmp_path / "contact.csv"
    grist.write_text(
        "Email,Nom,Nom_domaine,Supprimez_mon_compte\n"
        f"{address},Nina Bleu,insee.fr,false\nparti@insee.fr,Parti,insee.fr,true\n",
        "utf-8",
    )
    config = tmp_path / "bot.yaml"
    config.write_text(
        f"matrix: {{homeserver: '{community.synapse.url}', "
        f"user_id: '{community.bot_user.user_id}', password: unused}}\n"
        f"rooms: ['{community.room_id}']\ndata_dir: {community.data_dir}\n",
        "utf-8",
    )
    args = ["subscribers", "import", str(grist), "--config", str(config)]
    assert await asyncio.to_thread(main, args) == 0
    count = await ask(community.orga, community.room_id, "!abonnes")
    assert count.body.startswith("Abonnés à l’infolettre : 1, dont 0 en message privé")
    nina = await newcomers(localpart)
    await ask(nina, community.room_id, "!abonner")
    dm = (await nina.wait_for(from_bot_in_dm(community, "Bonjour"), timeout=30)).room_id
    await ask(nina, dm, "oui")
    claimed = await subscriber_of(community, nina.user_id)
    assert claimed is not None and claimed.email == address and claimed.dm_room_id == dm
    count = await ask(community.orga, community.room_id, "!abonnes")
    assert count.body.startswith("Abonnés à l’infolettre : 1, dont 1 en message privé")
