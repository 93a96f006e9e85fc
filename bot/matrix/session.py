"""Log in once and keep the device: credentials and crypto store live in the data directory."""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from nio import AsyncClient, AsyncClientConfig, LoginResponse, WhoamiResponse

from bot.errors import LoginFailed
from bot.matrix.private_file import write_private
from bot.matrix.replay import BotClient

if TYPE_CHECKING:
    from bot.config import MatrixConfig

log = logging.getLogger(__name__)

SESSION_FILE = "session.json"
STORE_DIR = "crypto"


@dataclass(frozen=True)
class Credentials:
    """What identifies the bot's device; reused on every start."""

    homeserver: str
    user_id: str
    device_id: str
    access_token: str


@dataclass(frozen=True)
class LoginSettings:
    """What the configuration says about logging in."""

    homeserver: str
    user_id: str
    password: str | None
    access_token: str | None
    device_name: str
    encryption: bool

    @classmethod
    def from_config(cls, matrix: MatrixConfig) -> LoginSettings:
        return cls(
            homeserver=matrix.homeserver,
            user_id=matrix.user_id,
            password=matrix.password.get_secret_value() if matrix.password else None,
            access_token=matrix.access_token.get_secret_value() if matrix.access_token else None,
            device_name=matrix.device_name,
            encryption=matrix.encryption,
        )


def read_credentials(path: Path) -> Credentials | None:
    """The stored device, or None before the first login; raises when the file is unreadable."""
    if not path.exists():
        return None
    return Credentials(**json.loads(path.read_text("utf-8")))


def store_file(store_path: Path, credentials: Credentials) -> Path:
    """The file of the crypto store nio keeps for that device."""
    return store_path / f"{credentials.user_id}_{credentials.device_id}.db"


def _write(path: Path, credentials: Credentials) -> None:
    """Write atomically and readable by the bot's user only: it holds the access token."""
    write_private(path, json.dumps(asdict(credentials)))


def client_config(encryption: bool) -> AsyncClientConfig:
    """nio settings: our outbox retries, so nio must hand every 429 and timeout back to us."""
    return AsyncClientConfig(
        encryption_enabled=encryption,
        store_sync_tokens=False,
        max_limit_exceeded=0,
        max_timeouts=0,
        request_timeout=60,
    )


class Session:
    """Builds a logged-in nio client, reusing the stored device whenever it is still usable."""

    def __init__(self, settings: LoginSettings, data_dir: Path) -> None:
        self.settings = settings
        self.session_path = data_dir / SESSION_FILE
        self.store_path = data_dir / STORE_DIR

    async def open(self) -> AsyncClient:
        """A client logged in as the bot, its crypto store loaded and its keys uploaded."""
        self.store_path.mkdir(parents=True, exist_ok=True)
        stored = self._usable_stored()
        client = self._client(stored.device_id if stored else None)
        try:
            credentials = stored or await self._login(client)
            client.restore_login(
                credentials.user_id, credentials.device_id, credentials.access_token
            )
            if client.should_upload_keys:
                await client.keys_upload()
        except BaseException:
            await client.close()
            raise
        log.info("logged in as %s, device %s", credentials.user_id, credentials.device_id)
        return client

    def _client(self, device_id: str | None) -> AsyncClient:
        return BotClient(
            self.settings.homeserver,
            self.settings.user_id,
            device_id=device_id or "",
            store_path=str(self.store_path),
            config=client_config(self.settings.encryption),
        )

    def _usable_stored(self) -> Credentials | None:
        """The stored device, unless it belongs elsewhere or its crypto store was lost."""
        stored = read_credentials(self.session_path)
        if stored is None:
            return None
        if (stored.homeserver, stored.user_id) != (self.settings.homeserver, self.settings.user_id):
            log.warning("stored session is for another account; logging in afresh")
            return None
        if self.settings.encryption and not store_file(self.store_path, stored).exists():
            if self.settings.password is None:
                log.error(
                    "crypto store lost and no password to make a new device; "
                    "encrypted messages will not decrypt until a new login"
                )
                return stored
            log.warning(
                "crypto store lost for device %s; logging in as a new device", stored.device_id
            )
            return None
        return stored

    async def _login(self, client: AsyncClient) -> Credentials:
        if self.settings.password is not None:
            response = await client.login(
                self.settings.password, device_name=self.settings.device_name
            )
            if not isinstance(response, LoginResponse):
                raise LoginFailed(f"login refused by the homeserver: {response.status_code}")
            credentials = self._credentials(response.device_id, response.access_token)
        else:
            credentials = await self._adopt_token(client)
        _write(self.session_path, credentials)
        return credentials

    async def _adopt_token(self, client: AsyncClient) -> Credentials:
        """Take a configured access token and learn its device from the homeserver."""
        token = self.settings.access_token or ""
        client.access_token = token
        response = await client.whoami()
        if not isinstance(response, WhoamiResponse) or not response.device_id:
            raise LoginFailed("the access token was refused or has no device")
        return self._credentials(response.device_id, token)

    def _credentials(self, device_id: str, access_token: str) -> Credentials:
        return Credentials(self.settings.homeserver, self.settings.user_id, device_id, access_token)


Client = AsyncClient
"""The logged-in Matrix client, as the rest of the bot names it (only bot.matrix imports nio)."""
