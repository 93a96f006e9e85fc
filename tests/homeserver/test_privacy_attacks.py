"""Hostile members against private data, on the real homeserver (room version 12): a trap room
posing as a DM, erasure down to the database's bytes, and the address oracle."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from uuid import uuid4

import pytest
from nio import RoomCreateResponse, RoomPreset

from bot.messages import Message
from bot.storage import outbox
from bot.storage import subscriptions as store
from tests.homeserver.conftest import Community
from tests.homeserver.harness import member, poll, register
from tests.homeserver.hostile import (
    MOVED,
    address_of,
    ask,
    database_traces,
    from_bot,
    newcomer,
    restart,
    timeline,
)
from tests.mailserver import code_in, mail_server

pytestmark = pytest.mark.homeserver


async def test_attack_1_a_room_with_an_invited_member_never_gets_their_data(
    community: Community, tmp_path: Path
) -> None:
    """Mallory makes a public room (version 12), invites the bot and Camille, and leaves:
    Camille's !abonnement and !abonner are answered in a true DM the bot opens, and Mallory,
    back in the room, finds nothing of Camille's there."""
    mallory_user, _ = await register(community.synapse, "mallory")
    mallory = await member(community.synapse, mallory_user, tmp_path)
    bot = community.bot_user.user_id
    async with newcomer(community, tmp_path, "camille.durand") as camille:
        created = await mallory.client.room_create(
            preset=RoomPreset.public_chat, invite=[bot, camille.user_id], room_version="12"
        )
        assert isinstance(created, RoomCreateResponse)
        trap = created.room_id
        await mallory.wait_for_member(trap, bot)
        await mallory.client.room_leave(trap)
        assert community.app.parts is not None
        bot_client = community.app.parts.gateway.client

        async def bot_sees_the_trap_as_two() -> bool:
            room = bot_client.rooms.get(trap)
            return room is not None and set(room.users) == {bot, camille.user_id}

        await poll(bot_sees_the_trap_as_two)
        assert (await ask(camille, community.room_id, "!abonnement")).body == MOVED
        kept = await camille.wait_for(from_bot(community, "Vous n’êtes pas abonné"), timeout=30)
        assert (await ask(camille, community.room_id, "!abonner")).body == MOVED
        proposal = await camille.wait_for(from_bot(community, "Bonjour"), timeout=30)
        assert kept.room_id == proposal.room_id != trap and address_of(camille) in proposal.body
        await mallory.join(trap)
        seen = [e for e in await timeline(mallory, trap) if e.get("sender") == bot]
    await mallory.stop()
    leaked = [e for e in seen if e.get("type") != "m.room.member"]
    assert leaked == []


async def test_a_private_message_is_refused_once_a_third_member_is_invited(
    community: Community,
) -> None:
    """At the sending edge: a private message reaches the member's true DM, but once someone
    else is invited there, the next one is refused (failed, emptied) and never posted."""
    alice = community.alice
    alice.accept_invites()
    parts = community.app.parts
    assert parts is not None
    dm = await parts.services.subscriptions.direct.open(alice.user_id)

    async def queue(text: str) -> int:
        async with community.app.db.session() as session:
            message = Message(dm, text, private_for=alice.user_id)
            return await parts.postbox.post(session, message)

    await queue("première donnée privée")
    await alice.wait_for(lambda s: s.room_id == dm and s.body == "première donnée privée", 30)
    await alice.client.room_invite(dm, community.orga.user_id)
    await alice.wait_for_member(dm, community.orga.user_id)  # invited counts as a member here
    refused = await queue("seconde donnée privée")

    async def settled() -> bool:
        async with community.app.db.session() as session:
            entry = await outbox.get(session, refused)
        return entry is not None and entry.status == "failed"

    await poll(settled)
    async with community.app.db.session() as session:
        entry = await outbox.get(session, refused)
    assert entry is not None and (entry.content, entry.private_for) == ({}, None)
    bodies = [e.get("content", {}).get("body") for e in await timeline(alice, dm)]
    assert "seconde donnée privée" not in bodies


async def test_attack_2_unsubscribing_leaves_no_byte_of_the_address_in_the_database(
    community: Community, tmp_path: Path
) -> None:
    """Subscribed, shown what is kept, exported by an organiser, then !desabonner in the room:
    the bot's SQLite files (main, WAL, SHM) held the address and the Tchap id before, and hold
    neither after, byte for byte."""
    async with newcomer(community, tmp_path, "camille.martin") as camille:
        await ask(camille, community.room_id, "!abonner")
        dm = (await camille.wait_for(from_bot(community, "Bonjour"), timeout=30)).room_id
        await ask(camille, dm, "oui")
        assert address_of(camille) in (await ask(camille, dm, "!abonnement")).body
        community.orga.accept_invites()
        await ask(community.orga, community.room_id, "!abonnes export")
        await community.orga.wait_for(lambda s: s.content.get("msgtype") == "m.file", 30)
        needles = {"address": address_of(camille), "Tchap id": camille.user_id}
        assert database_traces(community.data_dir, needles)
        erased = await ask(camille, community.room_id, "!desabonner")
    assert erased.body.startswith("C’est fait : vous êtes désabonné·e.")
    assert database_traces(community.data_dir, needles) == []


async def test_attack_8_an_address_someone_holds_gets_the_words_any_address_gets(
    community: Community, tmp_path: Path
) -> None:
    """Camille subscribed with her address. Jean asks for it in the room, Léa for an address
    nobody gave: both hear the same in the room and in their DM; Camille keeps hers, and Jean's
    claim is exported as unconfirmed."""
    async with (
        newcomer(community, tmp_path, "camille.bernard") as camille,
        newcomer(community, tmp_path, "jean.dupont") as jean,
        newcomer(community, tmp_path, "lea.petit") as lea,
    ):
        taken, fresh = address_of(camille), f"personne.{uuid4().hex[:6]}@insee.fr"
        await ask(camille, community.room_id, f"!abonner {taken}")
        await camille.wait_for(from_bot(community, "C’est fait"), timeout=30)
        jean_room = await ask(jean, community.room_id, f"!abonner {taken}")
        lea_room = await ask(lea, community.room_id, f"!abonner {fresh}")
        jean_dm = await jean.wait_for(from_bot(community), timeout=30)
        lea_dm = await lea.wait_for(from_bot(community), timeout=30)
        community.orga.accept_invites()
        await ask(community.orga, community.room_id, "!abonnes export")
        sent = await community.orga.wait_for(lambda s: s.content.get("msgtype") == "m.file", 30)
        exported = (await community.orga.download(sent.content)).decode()
    assert jean_room.body == lea_room.body == f"{MOVED} Pour protéger votre adresse e-mail, ne " \
        "l’écrivez que là."  # fmt: skip
    assert jean_dm.body.replace(taken, "X") == lea_dm.body.replace(fresh, "X")
    rows = {r["Matrix_id"]: r for r in csv.DictReader(io.StringIO(exported))}
    assert (rows[camille.user_id]["Email"], rows[camille.user_id]["Confirmation_adresse"]) == (
        taken, "tchap"
    )  # fmt: skip
    assert (rows[jean.user_id]["Email"], rows[jean.user_id]["Confirmation_adresse"]) == (
        taken, "unconfirmed"
    )  # fmt: skip


async def test_attack_8_someone_elses_address_needs_the_code_mailed_to_it(
    community: Community, tmp_path: Path
) -> None:
    """With a mail server, Jean asking for Camille's address gets a code mailed to Camille,
    naming Jean's account; without it nothing is recorded for Jean. His own other address,
    confirmed by its code, is."""
    with mail_server() as smtp:
        await restart(community, community.config(smtp.config()))
        async with (
            newcomer(community, tmp_path, "camille.roux") as camille,
            newcomer(community, tmp_path, "jean.moreau") as jean,
        ):
            taken = address_of(camille)
            await ask(jean, community.room_id, f"!abonner {taken}")
            told = await jean.wait_for(from_bot(community), timeout=30)
            mail = await smtp.next_to(taken)
            assert f"code à 6 chiffres à {taken}" in told.body
            assert jean.user_id in str(mail.get_body(("plain",)).get_content())  # type: ignore[union-attr]
            wrong = f"{(int(code_in(mail)) + 1) % 1_000_000:06d}"
            assert "pas le bon code" in (await ask(jean, told.room_id, wrong)).body
            own = f"jean.perso{uuid4().hex[:6]}@example.org"
            await ask(jean, told.room_id, f"!abonner {own}")
            done = await ask(jean, told.room_id, code_in(await smtp.next_to(own)))
            async with community.app.db.session() as session:
                subscriber = await store.by_user(session, jean.user_id)
    assert done.body.startswith(f"C’est fait : {own} est inscrite")
    assert subscriber is not None and (subscriber.email, subscriber.address_status) == (own, "code")
