"""The start-up identity step, on an in-memory account: which keys, which writes, which outcome."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

import pytest

from bot.matrix.crosssigning import KeyFile, PublishedIdentity
from bot.matrix.identity import Identity, IdentitySettings, RecoveryKeyFile
from bot.matrix.secretstorage import SecretStorage, encrypt, key_description
from bot.matrix.signedjson import SigningKey, b64encode
from bot.recoverykey import encode_recovery_key, key_from_passphrase
from bot.trust import KeySource, Problem
from tests.matrix.keys_fake import USER, FakeKeysApi

DEVICE, NEW_DEVICE = "DEVICEONE", "DEVICETWO"


def identity(
    api: FakeKeysApi, data_dir: Path, device_id: str = DEVICE, **settings: str | None
) -> Identity:
    """The identity step of a device whose keys the account publishes."""
    device_key = SigningKey.generate()
    api.add_device(device_id, device_key)
    return Identity(api, IdentitySettings(data_dir, **settings), device_id, device_key.public)  # type: ignore[arg-type]


async def published(api: FakeKeysApi, device_id: str) -> PublishedIdentity:
    return PublishedIdentity.from_query(await api.query_keys(USER), USER, device_id)


async def made_elsewhere(api: FakeKeysApi, tmp_path: Path) -> str:
    """An identity made by another client of the account; its recovery key."""
    other = identity(api, tmp_path / "elsewhere", device_id="TCHAPWEB")
    await other.ensure_signed()
    key = other.recovery_file.read()
    assert key is not None
    api.calls.clear()
    return key


async def test_first_start_makes_publishes_and_stores_the_identity(tmp_path: Path) -> None:
    """An account without identity gets one: device signed, keys in data_dir (0600) and in
    Secret Storage under a new default key, the recovery key written once (0600)."""
    api = FakeKeysApi()
    trust = await identity(api, tmp_path).ensure_signed()
    assert trust.signed and trust.source is KeySource.CREATED
    assert (await published(api, DEVICE)).device_signed
    for name in ("cross-signing-keys.json", "recovery-key.txt"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600
    recovery = RecoveryKeyFile(tmp_path).read()
    assert recovery is not None
    storage = SecretStorage(api)
    opened = await storage.open(recovery)
    keys = KeyFile(tmp_path, USER).load()
    assert keys is not None
    stored = await storage.read(opened, "m.cross_signing.self_signing")
    assert stored == b64encode(keys.self_signing.seed).encode()
    assert await storage.read(opened, "m.cross_signing.master") is not None
    assert await storage.read(opened, "m.cross_signing.user_signing") is not None


async def test_warm_start_is_one_query_and_no_write(tmp_path: Path) -> None:
    """Once the device is signed, a start asks the keys once and writes nothing."""
    api = FakeKeysApi()
    step = identity(api, tmp_path)
    await step.ensure_signed()
    api.calls.clear()
    trust = await step.ensure_signed()
    assert trust.source is KeySource.ALREADY_SIGNED and api.calls == ["query_keys"]


async def test_new_device_is_signed_with_the_keys_in_data_dir(tmp_path: Path) -> None:
    """After a lost crypto store, the new device is signed by the same identity: one query,
    one signature upload."""
    api = FakeKeysApi()
    await identity(api, tmp_path).ensure_signed()
    master = (await published(api, DEVICE)).master
    api.calls.clear()
    trust = await identity(api, tmp_path, NEW_DEVICE).ensure_signed()
    assert trust.source is KeySource.DATA_DIR
    assert api.calls == ["query_keys", "upload_signatures"]
    after = await published(api, NEW_DEVICE)
    assert after.device_signed and after.master == master


async def test_wiped_data_dir_recovers_from_secret_storage(tmp_path: Path) -> None:
    """With only the recovery key left, the keys come back from Secret Storage: same identity,
    the key file written again."""
    api = FakeKeysApi()
    await identity(api, tmp_path).ensure_signed()
    master = (await published(api, DEVICE)).master
    (tmp_path / "cross-signing-keys.json").unlink()
    trust = await identity(api, tmp_path, NEW_DEVICE).ensure_signed()
    assert trust.source is KeySource.SECRET_STORAGE
    assert (await published(api, NEW_DEVICE)).master == master
    assert KeyFile(tmp_path, USER).load() is not None


async def test_identity_made_elsewhere_needs_the_recovery_key(tmp_path: Path) -> None:
    """Without a recovery key the device stays unsigned, says why, and writes nothing; with
    it, the device is signed by that identity."""
    api = FakeKeysApi()
    recovery = await made_elsewhere(api, tmp_path)
    trust = await identity(api, tmp_path / "bot").ensure_signed()
    assert not trust.signed and trust.problem is Problem.NO_RECOVERY_KEY
    assert "matrix.recovery_key" in trust.remedy and api.writes() == []
    trust = await identity(api, tmp_path / "bot2", recovery_key=recovery).ensure_signed()
    assert trust.signed and trust.source is KeySource.SECRET_STORAGE


@pytest.mark.parametrize(
    "wrong",
    [encode_recovery_key(bytes(32)), "a passphrase that is not set", "EsT" + "1" * 45],
    ids=["another-key", "passphrase", "mistyped"],
)
async def test_a_wrong_recovery_key_is_reported_and_writes_nothing(
    tmp_path: Path, wrong: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Another key, a passphrase where there is none, or a typo: not signed, one ERROR line
    with the remedy, no write, and the key never in the log."""
    api = FakeKeysApi()
    await made_elsewhere(api, tmp_path)
    with caplog.at_level(logging.DEBUG):
        trust = await identity(api, tmp_path / "bot", recovery_key=wrong).ensure_signed()
    assert trust.problem is Problem.WRONG_RECOVERY_KEY and api.writes() == []
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "matrix.recovery_key" in errors[0].getMessage()
    assert wrong not in caplog.text


async def test_a_passphrase_opens_secret_storage(tmp_path: Path) -> None:
    """A key description with PBKDF2 settings accepts its passphrase instead of the key."""
    api = FakeKeysApi()
    recovery = await made_elsewhere(api, tmp_path)
    default = str((api.account["m.secret_storage.default_key"])["key"])
    passphrase = {"algorithm": "m.pbkdf2", "salt": "pepper", "iterations": 1000}
    key = key_from_passphrase("tchap passphrase", "pepper", 1000)
    await _move_secrets(api, recovery, key, passphrase, default)
    step = identity(api, tmp_path / "bot", recovery_key="tchap passphrase")
    trust = await step.ensure_signed()
    assert trust.signed and trust.source is KeySource.SECRET_STORAGE


async def _move_secrets(
    api: FakeKeysApi, recovery: str, key: bytes, passphrase: dict[str, object], key_id: str
) -> None:
    """Re-encrypt the account's secrets under ``key`` (as a passphrase-made key would be)."""
    storage = SecretStorage(api)
    opened = await storage.open(recovery)
    for name in ("m.cross_signing.master", "m.cross_signing.self_signing"):
        secret = await storage.read(opened, name)
        assert secret is not None
        api.account[name] = {"encrypted": {key_id: encrypt(key, name, secret)}}
    description = {**key_description(key), "passphrase": passphrase}
    api.account[f"m.secret_storage.key.{key_id}"] = description


async def test_secret_storage_of_another_identity_is_refused(tmp_path: Path) -> None:
    """A self-signing key in Secret Storage that is not the published one signs nothing."""
    api = FakeKeysApi()
    recovery = await made_elsewhere(api, tmp_path)
    storage = SecretStorage(api)
    opened = await storage.open(recovery)
    await storage.write(opened, "m.cross_signing.self_signing", b64encode(bytes(32)).encode())
    api.calls.clear()
    trust = await identity(api, tmp_path / "bot", recovery_key=recovery).ensure_signed()
    assert trust.problem is Problem.KEYS_MISMATCH
    assert api.writes() == []


async def test_a_device_the_homeserver_misrepresents_is_not_signed(tmp_path: Path) -> None:
    """When the published device keys are not this device's own, nothing is signed."""
    api = FakeKeysApi()
    await identity(api, tmp_path).ensure_signed()
    impostor = Identity(api, IdentitySettings(tmp_path), NEW_DEVICE, SigningKey.generate().public)  # type: ignore[arg-type]
    api.add_device(NEW_DEVICE, SigningKey.generate())
    trust = await impostor.ensure_signed()
    assert trust.problem is Problem.DEVICE_MISMATCH
    assert not (await published(api, NEW_DEVICE)).device_signed


async def test_creation_interrupted_then_retried_keeps_the_same_keys(tmp_path: Path) -> None:
    """An upload that got no answer is retried later with the same keys and recovery key."""
    api = FakeKeysApi()
    api.unreachable.add("upload_cross_signing_keys")
    step = identity(api, tmp_path)
    first = await step.ensure_signed()
    assert first.problem is Problem.UNREACHABLE and "tries again" in first.remedy
    keys_before, recovery_before = KeyFile(tmp_path, USER).load(), step.recovery_file.read()
    api.unreachable.clear()
    assert (await step.ensure_signed()).source is KeySource.CREATED
    keys_after = KeyFile(tmp_path, USER).load()
    assert keys_before is not None and keys_after is not None
    assert keys_after.master.public == keys_before.master.public
    assert step.recovery_file.read() == recovery_before
    assert len([k for k in api.account if k.startswith("m.secret_storage.key.")]) == 1


async def test_password_stage_without_password_explains_what_to_do(tmp_path: Path) -> None:
    """A homeserver asking for the password, with a token-only configuration: the remedy
    names matrix.password."""
    api = FakeKeysApi()
    api.password_always = True
    trust = await identity(api, tmp_path).ensure_signed()
    assert trust.problem is Problem.PASSWORD_NEEDED and "matrix.password" in trust.remedy
    trust = await identity(api, tmp_path, NEW_DEVICE, password="secret").ensure_signed()
    assert trust.signed


async def test_replace_needs_the_password_and_keeps_the_old_keys_if_refused(
    tmp_path: Path,
) -> None:
    """A reset with a wrong password changes nothing; with the right one the identity, the
    key file and the recovery key are new, and the device is signed."""
    api = FakeKeysApi()
    await identity(api, tmp_path).ensure_signed()
    old_master = (await published(api, DEVICE)).master
    old_recovery = RecoveryKeyFile(tmp_path).read()
    wrong = Identity(api, IdentitySettings(tmp_path, password="wrong"), DEVICE, None)  # type: ignore[arg-type]
    with pytest.raises(Exception, match="M_FORBIDDEN"):
        await wrong.replace()
    assert RecoveryKeyFile(tmp_path).read() == old_recovery
    assert (await published(api, DEVICE)).master == old_master
    right = Identity(api, IdentitySettings(tmp_path, password="secret"), DEVICE, None)  # type: ignore[arg-type]
    keys = await right.replace()
    now = await published(api, DEVICE)
    assert now.master == keys.master.public != old_master and now.device_signed
    assert RecoveryKeyFile(tmp_path).read() not in (None, old_recovery)


async def test_an_unexpected_answer_leaves_the_bot_running_unsigned(tmp_path: Path) -> None:
    """A keys query answer of the wrong shape is an internal error, not a crash at start."""
    api = FakeKeysApi()

    async def garbled(user_id: str) -> dict[str, object]:
        return {"master_keys": ["not", "a", "mapping"]}

    api.query_keys = garbled  # type: ignore[method-assign]
    trust = await identity(api, tmp_path).ensure_signed()
    assert not trust.signed and trust.problem is Problem.REFUSED


async def test_a_stale_configured_key_falls_back_to_the_recovery_key_file(
    tmp_path: Path,
) -> None:
    """A configured recovery key that no longer opens the storage (an old one) does not stop
    the bot when the file it wrote holds the current one."""
    api = FakeKeysApi()
    await identity(api, tmp_path).ensure_signed()
    (tmp_path / "cross-signing-keys.json").unlink()
    old = encode_recovery_key(bytes(range(32)))
    trust = await identity(api, tmp_path, NEW_DEVICE, recovery_key=old).ensure_signed()
    assert trust.signed and trust.source is KeySource.SECRET_STORAGE
