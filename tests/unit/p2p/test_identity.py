"""p2p.identity and p2p.profile: keys, certificates, the key file, the profile lock."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kith.p2p import identity as ident
from kith.p2p.errors import EnvironmentProblem, RemoteProtocolError, UserError
from kith.p2p.identity import (
    KEY_FILE,
    DeviceCertificate,
    Identity,
    certify_device,
    load_identity,
    save_identity,
    sign,
    verify_signature,
)
from kith.p2p.profile import (
    LOCK_FILE,
    ProfileLock,
    create_identity,
    default_device_name,
    require_identity,
)

ALICE = Identity.generate("Alice", "Alice's laptop")
MALLORY = Identity.generate("Mallory")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# -- keys and certificates -------------------------------------------------------------------


def test_generate_makes_consistent_keys() -> None:
    me = Identity.generate("Alice", "laptop")
    assert me.name == "Alice"
    assert me.cert.name == "laptop"
    assert len(me.user_id) == len(me.device_id) == 32
    assert me.user_id == me.user_secret[32:]
    assert me.device_id == me.device_secret[32:]
    assert me.user_id != me.device_id
    assert len(me.noise_static) == 32
    me.cert.verify()
    assert Identity.generate("Alice").cert.name == "Alice"  # device name defaults to the name
    other = Identity.generate("Alice")
    assert other.user_id != me.user_id and other.device_id != me.device_id


def test_encode_decode_roundtrip() -> None:
    data = ALICE.encode()
    back = Identity.decode(data)
    assert back == ALICE
    assert back.encode() == data
    assert back.noise_static == ALICE.noise_static
    message = b"proof"
    assert verify_signature(ALICE.device_id, message, back.sign_as_device(message))


def test_with_name_keeps_the_keys() -> None:
    renamed = ALICE.with_name("Ally")
    assert renamed.name == "Ally"
    assert (renamed.user_secret, renamed.device_secret, renamed.cert) == (
        ALICE.user_secret, ALICE.device_secret, ALICE.cert,
    )


def test_sign_and_verify_signature() -> None:
    sig = sign(ALICE.user_secret, b"hello")
    assert len(sig) == 64
    assert verify_signature(ALICE.user_id, b"hello", sig)
    assert not verify_signature(ALICE.user_id, b"hellp", sig)
    assert not verify_signature(MALLORY.user_id, b"hello", sig)
    assert not verify_signature(ALICE.user_id, b"hello", sig[:63])
    assert not verify_signature(b"short", b"hello", sig)


def test_certificate_verifies() -> None:
    cert = certify_device(ALICE.user_secret, MALLORY.device_id, "tablet", created=1234)
    cert.verify()
    assert (cert.user, cert.device, cert.name, cert.created) == (
        ALICE.user_id, MALLORY.device_id, "tablet", 1234,
    )
    decoded = msgspec.msgpack.decode(msgspec.msgpack.encode(cert), type=DeviceCertificate)
    decoded.verify()
    assert decoded == cert


@pytest.mark.parametrize(
    "change",
    [
        {"user": MALLORY.user_id},
        {"device": MALLORY.device_id},
        {"name": "Alice's laptoq"},
        {"created": 1},
        {"sig": bytes(64)},
        {"user": b"\x00" * 31},
        {"device": b"\x00" * 33},
        {"sig": b"\x00" * 63},
        {"name": ""},
        {"name": "x" * 65},
        {"name": "tab\there"},
    ],
    ids=["user", "device", "name", "created", "sig", "short user", "long device", "short sig",
         "empty name", "long name", "control char"],
)
def test_tampered_certificate_fails(change: dict[str, object]) -> None:
    tampered = msgspec.structs.replace(ALICE.cert, **change)
    with pytest.raises(RemoteProtocolError):
        tampered.verify()


def test_certificate_signed_by_another_user_fails() -> None:
    forged = certify_device(MALLORY.user_secret, ALICE.device_id, "Alice's laptop")
    claimed = msgspec.structs.replace(forged, user=ALICE.user_id)
    with pytest.raises(RemoteProtocolError, match="signature"):
        claimed.verify()


@pytest.mark.parametrize("name", ["", " Alice", "Alice ", "x" * 65, "a\nb", "a\x00b", "\u200b"])
def test_invalid_names_are_rejected(name: str) -> None:
    assert not ident.valid_name(name)
    with pytest.raises(ValueError, match="name"):
        Identity.generate(name)


@pytest.mark.parametrize("name", ["A", "x" * 64, "Zoë", "李小龙", "Bob the 2nd"])
def test_valid_names_are_accepted(name: str) -> None:
    assert ident.valid_name(name)
    assert Identity.generate(name).name == name


# -- key file --------------------------------------------------------------------------------


def test_save_identity_creates_a_private_key_file(tmp_path: Path) -> None:
    profile = tmp_path / "profile"
    save_identity(profile, ALICE)
    key_file = profile / KEY_FILE
    assert _mode(key_file) == 0o600
    assert _mode(profile) & 0o077 == 0
    assert sorted(p.name for p in profile.iterdir()) == [KEY_FILE]  # no temporary file left
    assert load_identity(profile) == ALICE


def test_save_identity_is_private_even_with_a_permissive_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        save_identity(tmp_path, ALICE)
    finally:
        os.umask(old)
    assert _mode(tmp_path / KEY_FILE) == 0o600


def test_save_identity_refuses_to_overwrite(tmp_path: Path) -> None:
    save_identity(tmp_path, ALICE)
    before = (tmp_path / KEY_FILE).read_bytes()
    with pytest.raises(EnvironmentProblem, match="already exists"):
        save_identity(tmp_path, MALLORY)
    assert (tmp_path / KEY_FILE).read_bytes() == before
    save_identity(tmp_path, MALLORY, replace=True)
    assert load_identity(tmp_path) == MALLORY
    assert _mode(tmp_path / KEY_FILE) == 0o600


def test_load_identity_without_a_key_file_is_none(tmp_path: Path) -> None:
    assert load_identity(tmp_path) is None
    assert load_identity(tmp_path / "does not exist") is None


def _damaged(kind: str) -> bytes:
    good = ALICE.encode()
    if kind == "truncated":
        return good[: len(good) // 2]
    if kind == "garbage":
        return b"\x00\xffnot a key file at all"
    if kind == "empty":
        return b""
    if kind == "short seed":
        return msgspec.msgpack.encode([1, "Alice", b"\x01" * 31, b"\x02" * 32, ALICE.cert])
    if kind == "foreign cert":
        return msgspec.msgpack.encode(
            [1, "Alice", b"\x01" * 32, b"\x02" * 32, MALLORY.cert]
        )
    if kind == "bad utf-8 name":
        return good.replace(b"Alice", b"Al\x80ce", 1)
    raise AssertionError(kind)


@pytest.mark.parametrize(
    "kind", ["truncated", "garbage", "empty", "short seed", "foreign cert", "bad utf-8 name"]
)
def test_load_identity_on_a_damaged_file_names_the_file(tmp_path: Path, kind: str) -> None:
    (tmp_path / KEY_FILE).write_bytes(_damaged(kind))
    with pytest.raises(EnvironmentProblem) as info:
        load_identity(tmp_path)
    assert str(tmp_path / KEY_FILE) in str(info.value)
    assert "damaged" in str(info.value)


def test_load_identity_on_an_unreadable_key_file(tmp_path: Path) -> None:
    (tmp_path / KEY_FILE).mkdir()  # a directory where the file should be
    with pytest.raises(EnvironmentProblem) as info:
        load_identity(tmp_path)
    assert str(tmp_path / KEY_FILE) in str(info.value)


@settings(database=None, max_examples=200, deadline=None)
@given(data=st.binary(max_size=400))
def test_load_identity_on_arbitrary_bytes_raises_only_environment_problem(
    tmp_path_factory: pytest.TempPathFactory, data: bytes
) -> None:
    profile = tmp_path_factory.mktemp("fuzz")
    (profile / KEY_FILE).write_bytes(data)
    try:
        assert load_identity(profile) is not None
    except EnvironmentProblem:
        pass


# -- profile ---------------------------------------------------------------------------------


def test_create_identity_once(tmp_path: Path) -> None:
    created = create_identity(tmp_path, "Alice", "desk")
    assert (created.name, created.cert.name) == ("Alice", "desk")
    assert load_identity(tmp_path) == created
    assert require_identity(tmp_path) == created
    before = (tmp_path / KEY_FILE).read_bytes()
    with pytest.raises(UserError, match="already has an identity"):
        create_identity(tmp_path, "Alice again")
    assert (tmp_path / KEY_FILE).read_bytes() == before


@pytest.mark.parametrize(
    ("host", "expected"),
    [("studio", "studio"), ("laptop.fritz.box", "laptop"), ("", "this computer"),
     ("x" * 80, "x" * 64), ("bad\x00host", "this computer")],
)
def test_a_new_device_is_named_after_its_host(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, host: str, expected: str
) -> None:
    monkeypatch.setattr("socket.gethostname", lambda: host)
    assert default_device_name() == expected
    created = create_identity(tmp_path, "Alice")
    assert (created.name, created.cert.name) == ("Alice", expected)


@pytest.mark.parametrize("name", ["", " padded ", "x" * 65, "new\nline"])
def test_create_identity_rejects_invalid_names(tmp_path: Path, name: str) -> None:
    with pytest.raises(UserError):
        create_identity(tmp_path, name)
    assert not (tmp_path / KEY_FILE).exists()


@pytest.mark.parametrize("device_name", ["x" * 65, "two\nlines", " padded"])
def test_create_identity_rejects_invalid_device_names(tmp_path: Path, device_name: str) -> None:
    try:
        with pytest.raises(UserError):
            create_identity(tmp_path, "Alice", device_name)
    finally:
        identity = load_identity(tmp_path)
        if identity is not None:
            identity.cert.verify()  # whatever was saved must be usable


def test_require_identity_explains_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="init"):
        require_identity(tmp_path)


def test_profile_lock(tmp_path: Path) -> None:
    assert not ProfileLock.held(tmp_path)
    first = ProfileLock(tmp_path)
    first.acquire()
    try:
        assert ProfileLock.held(tmp_path)
        assert (tmp_path / LOCK_FILE).read_text() == str(os.getpid())
        assert _mode(tmp_path / LOCK_FILE) & 0o077 == 0
        second = ProfileLock(tmp_path)
        with pytest.raises(EnvironmentProblem, match="already running") as info:
            second.acquire()
        assert str(tmp_path) in str(info.value)
        assert ProfileLock.held(tmp_path)  # the failed attempt did not disturb the holder
    finally:
        first.release()
    assert not ProfileLock.held(tmp_path)
    first.release()  # releasing twice is harmless

    again = ProfileLock(tmp_path)
    again.acquire()
    try:
        assert ProfileLock.held(tmp_path)
    finally:
        again.release()
    assert not ProfileLock.held(tmp_path)


def test_profile_lock_creates_the_profile_folder(tmp_path: Path) -> None:
    profile = tmp_path / "new" / "profile"
    lock = ProfileLock(profile)
    lock.acquire()
    try:
        assert profile.is_dir()
        assert ProfileLock.held(profile)
        assert not ProfileLock.held(tmp_path)
    finally:
        lock.release()


def test_device_revocation_verifies_only_untouched_and_by_the_identity_key():
    from kith.p2p.identity import DeviceRevocation, revoke_device

    alice, mallory = Identity.generate("alice"), Identity.generate("mallory")
    r = revoke_device(alice.user_secret, b"\x07" * 32, created=1000)
    r.verify()
    for bad in (
        DeviceRevocation(r.user, b"\x08" * 32, r.created, r.sig),  # another device
        DeviceRevocation(r.user, r.device, r.created + 1, r.sig),
        DeviceRevocation(mallory.user_id, r.device, r.created, r.sig),  # claimed by another
        DeviceRevocation(r.user, r.device, r.created, bytes(64)),
        DeviceRevocation(r.user[:31], r.device, r.created, r.sig),
    ):
        with pytest.raises(RemoteProtocolError):
            bad.verify()
    # Signed by another user's key for alice's device: not alice's revocation.
    forged = revoke_device(mallory.user_secret, b"\x07" * 32, created=1000)
    assert forged.user == mallory.user_id
    with pytest.raises(RemoteProtocolError):
        DeviceRevocation(alice.user_id, forged.device, forged.created, forged.sig).verify()


def test_linked_identity_needs_a_matching_certificate():
    alice = Identity.generate("alice")
    other = Identity.generate("laptop")
    cert = alice.for_new_device("laptop", other.device_id)
    linked = Identity.linked("alice", alice.user_secret, other.device_secret, cert)
    assert linked.user_id == alice.user_id and linked.device_id == other.device_id
    with pytest.raises(ValueError, match="does not match"):
        Identity.linked("alice", alice.user_secret, Identity.generate("x").device_secret, cert)
