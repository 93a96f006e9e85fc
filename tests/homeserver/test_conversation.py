"""Members talk to the real bot through a real Synapse, in an encrypted room and in a DM."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.sandbox.synapse import LocalSynapse
from tests.homeserver.conftest import Community
from tests.homeserver.harness import member, register

pytestmark = pytest.mark.homeserver


async def test_ping_in_encrypted_room(community: Community) -> None:
    """A member's encrypted !ping gets an encrypted m.notice reply that mentions nobody."""
    event_id = await community.alice.send_text(community.room_id, "!ping")
    answer = await community.alice.wait_for_reply(community.room_id, event_id)
    assert answer.decrypted and answer.body == "pong 🏓"
    assert answer.content["msgtype"] == "m.notice"
    assert answer.content["m.mentions"] == {"user_ids": []}


async def test_reply_stays_in_thread(community: Community) -> None:
    """A command sent in a thread is answered in that thread."""
    root = await community.alice.send_text(community.room_id, "Une question sur le bot")
    event_id = await community.alice.send_text(community.room_id, "!ping", thread_root=root)
    answer = await community.alice.wait_for_reply(community.room_id, event_id)
    assert answer.content["m.relates_to"]["rel_type"] == "m.thread"
    assert answer.content["m.relates_to"]["event_id"] == root


async def test_help_depends_on_role(community: Community) -> None:
    """The organiser's !aide lists !statut; a member's does not, and !statut is refused."""
    orga_ask = await community.orga.send_text(community.room_id, "!aide")
    orga_help = await community.orga.wait_for_reply(community.room_id, orga_ask)
    alice_ask = await community.alice.send_text(community.room_id, "!aide")
    alice_help = await community.alice.wait_for_reply(community.room_id, alice_ask)
    assert "!statut" in orga_help.body and "!ping" in orga_help.body
    assert "!statut" not in alice_help.body and "!ping" in alice_help.body
    refused = await community.alice.send_text(community.room_id, "!statut")
    answer = await community.alice.wait_for_reply(community.room_id, refused)
    assert answer.body == "Cette commande est réservée aux organisateurs."


async def test_english_word_gets_english_answer(community: Community) -> None:
    """!help answers in English, with the English command words."""
    event_id = await community.alice.send_text(community.room_id, "!help")
    answer = await community.alice.wait_for_reply(community.room_id, event_id)
    assert answer.body.startswith("Available commands:") and "!help [command]" in answer.body


async def test_malformed_commands_get_short_answers(community: Community) -> None:
    """An unknown command gets a hint to !aide; a bad argument gets the command's usage."""
    unknown = await community.alice.send_text(community.room_id, "!agendaa")
    hint = await community.alice.wait_for_reply(community.room_id, unknown)
    assert hint.body == ("Commande inconnue : !agendaa. Tapez !aide pour la liste des commandes.")
    bad = await community.alice.send_text(community.room_id, "!aide nimportequoi")
    usage = await community.alice.wait_for_reply(community.room_id, bad)
    assert "Utilisation : !aide [commande]" in usage.body


async def test_plain_chat_is_ignored(community: Community) -> None:
    """Ordinary messages, and the bot's own notices, get no answer."""
    chat = await community.alice.send_text(community.room_id, "Bonjour à tous !")
    probe = await community.alice.send_text(community.room_id, "!ping")
    await community.alice.wait_for_reply(community.room_id, probe)
    assert not [seen for seen in community.alice.seen if seen.in_reply_to == chat]


async def test_direct_message_round_trip(
    community: Community, synapse: LocalSynapse, tmp_path: Path
) -> None:
    """A member who opens an encrypted DM with the bot is answered there."""
    user, _ = await register(synapse, "bob")
    bob = await member(synapse, user, tmp_path)
    try:
        dm = await bob.create_room(invite=[community.bot_user.user_id], direct=True)
        await bob.wait_for_member(dm, community.bot_user.user_id, timeout=30)
        event_id = await bob.send_text(dm, "!ping")
        answer = await bob.wait_for_reply(dm, event_id)
        assert answer.decrypted and answer.body == "pong 🏓"
    finally:
        await bob.stop()
