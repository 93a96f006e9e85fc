"""``ssphub-bot sandbox``: a throw-away homeserver, the hub's sample feeds, and the bot on them."""

from __future__ import annotations

import asyncio
import json
import socket
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from bot.app import App
from bot.config import Config, parse_config
from bot.matrix.member import Member
from bot.sandbox.synapse import LocalSynapse, SynapseUser

FEEDS_DIR = Path(__file__).resolve().parent / "feeds"
PASSWORDS = {"ssphub-bot": "sandbox-bot", "orga": "sandbox-orga", "membre": "sandbox-membre"}
DEMO_SCRIPT = ("!aide", "!ping")


@dataclass(frozen=True)
class Sandbox:
    """What a sandbox run made: where everything is and who can log in."""

    homeserver: str
    room_id: str
    feeds_url: str
    config_path: Path
    web_url: str | None


def _port(preferred: int) -> int:
    """``preferred`` if it is free on loopback, else any free port."""
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", preferred))
        except OSError:
            probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def serve_feeds(port: int) -> web.AppRunner:
    """Serve the bundled hub feeds over HTTP on 127.0.0.1."""
    app = web.Application()
    app.router.add_static("/", FEEDS_DIR)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner


async def _accounts(synapse: LocalSynapse) -> dict[str, SynapseUser]:
    """The bot, an organiser and a member; the people get stable device ids."""
    users = {}
    for name, password in PASSWORDS.items():
        device = None if name == "ssphub-bot" else f"SANDBOX{name.upper()}"
        users[name] = await synapse.register(name, password, admin=name == "orga", device_id=device)
    return users


def _member(synapse: LocalSynapse, user: SynapseUser, base: Path) -> Member:
    return Member(
        synapse.url,
        user.user_id,
        user.device_id,
        user.access_token,
        base / "clients" / user.localpart,
    )


async def _room(synapse: LocalSynapse, users: dict[str, SynapseUser], base: Path) -> str:
    """The sandbox's encrypted room, created once by the organiser and kept across runs."""
    saved = base / "room.json"
    if saved.exists():
        return str(json.loads(saved.read_text("utf-8"))["room_id"])
    orga = _member(synapse, users["orga"], base)
    await orga.start()
    try:
        room_id = await orga.create_room(
            name="SSP Hub — bac à sable",
            invite=[users["ssphub-bot"].user_id, users["membre"].user_id],
        )
    finally:
        await orga.stop()
    saved.write_text(json.dumps({"room_id": room_id}), "utf-8")
    return room_id


def _config(
    synapse: LocalSynapse, room_id: str, feeds_url: str, base: Path, web_port: int
) -> tuple[Config, Path]:
    text = f"""\
# Written by `ssphub-bot sandbox`. `ssphub-bot run --config` on it waits while the sandbox's bot
# runs (one active instance per database), then takes over.
matrix:
  homeserver: {synapse.url}
  user_id: "@ssphub-bot:{synapse.server_name}"
  password: {PASSWORDS["ssphub-bot"]}
rooms: ["{room_id}"]
organisers: ["@orga:{synapse.server_name}"]
feeds:
  - url: {feeds_url}/infolettre.xml
    interval: 60
  - url: {feeds_url}/event.xml
fetch:
  allow_private: ["127.0.0.1"]  # the sandbox serves its feeds on loopback
data_dir: {base / "bot"}
web:
  port: {web_port}
"""
    path = base / "config.yaml"
    path.write_text(text, "utf-8")
    return parse_config(text, source=str(path), environ={}), path


def banner(sandbox: Sandbox) -> str:
    """What the person who started the sandbox needs to join it from any Matrix client."""
    logins = "\n".join(
        f"    {name:<11} mot de passe / password: {password}"
        for name, password in PASSWORDS.items()
    )
    return f"""\
ssphub-bot sandbox
  homeserver : {sandbox.homeserver}   (server name: localhost)
  room       : {sandbox.room_id}   (encrypted)
  feeds      : {sandbox.feeds_url}/infolettre.xml, {sandbox.feeds_url}/event.xml
  web        : {_endpoints(sandbox.web_url)}
  config     : {sandbox.config_path}
  logins (user @name:localhost):
{logins}
Ctrl-C stops everything."""


def _endpoints(web_url: str | None) -> str:
    """The bot's web endpoints: health, Prometheus metrics, the agenda as a calendar feed."""
    if web_url is None:
        return "off"
    return " · ".join(f"{web_url}{path}" for path in ("/healthz", "/metrics", "/agenda.ics"))


def sandbox_dir(data_dir: Path) -> Path:
    """Where the sandbox keeps its homeserver, clients and bot; made if missing."""
    base = data_dir.resolve() / "sandbox"
    base.mkdir(parents=True, exist_ok=True)
    return base


async def run_sandbox(base: Path, *, demo: bool, stop: asyncio.Event) -> int:
    """Start everything, print how to join, and run until ``stop`` (or play the demo)."""
    synapse = LocalSynapse(base / "homeserver", port=_port(8008))
    await synapse.start()
    feeds_port = _port(8765)
    feeds = await serve_feeds(feeds_port)
    app: App | None = None
    try:
        users = await _accounts(synapse)
        room_id = await _room(synapse, users, base)
        web_port = _port(8080)
        config, path = _config(synapse, room_id, f"http://127.0.0.1:{feeds_port}", base, web_port)
        app = App(config)
        await app.start()
        sandbox = Sandbox(
            synapse.url,
            room_id,
            f"http://127.0.0.1:{feeds_port}",
            path,
            f"http://127.0.0.1:{web_port}",
        )
        print(banner(sandbox), flush=True)
        if demo:
            return await play_demo(synapse, users, room_id, base)
        await stop.wait()
        return 0
    finally:
        if app is not None:
            await app.stop()
        await feeds.cleanup()
        await synapse.stop()


async def play_demo(
    synapse: LocalSynapse, users: dict[str, SynapseUser], room_id: str, base: Path
) -> int:
    """The member says each line of the script and the transcript shows the bot's answers."""
    member = _member(synapse, users["membre"], base)
    await member.start()
    try:
        await member.join(room_id)
        await member.wait_for_member(room_id, users["ssphub-bot"].user_id, timeout=60)
        print("\n--- transcript ---", flush=True)
        for line in DEMO_SCRIPT:
            event_id = await member.send_text(room_id, line)
            print(f"membre     > {line}", flush=True)
            answer = await member.wait_for_reply(room_id, event_id, timeout=60)
            print(_indent(f"ssphub-bot > {answer.body}"), flush=True)
        print("--- end ---", flush=True)
        return 0
    finally:
        await member.stop()


def _indent(text: str) -> str:
    return text.replace("\n", "\n             ")
