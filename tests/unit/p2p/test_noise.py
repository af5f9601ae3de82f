"""p2p.noise against published Noise test vectors (tests/vectors/noise), plus state, limit and
fuzz tests."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nacl.bindings import crypto_aead_chacha20poly1305_ietf_encrypt, crypto_scalarmult_base

from kith.p2p import noise
from kith.p2p.noise import MAX_MESSAGE, CipherState, DecryptError, HandshakeState, NoiseError

NOISE_DIR = Path(__file__).resolve().parents[2] / "vectors" / "noise"
VECTOR_FILES = ("cacophony.json", "snow.json", "noise-c-basic.json")

SUPPORTED = re.compile(r"Noise_(XX|IK|NK)_25519_ChaChaPoly_(BLAKE2b|SHA256)")
PSK_FIELDS = ("init_psks", "resp_psks", "init_psk", "resp_psk")


def _protocol_name(vector: dict[str, Any]) -> str:
    name = vector.get("protocol_name") or vector.get("name")  # noise-c uses "name"
    assert isinstance(name, str)
    return name


def _select(file_name: str) -> list[tuple[str, int, dict[str, Any]]]:
    """Vectors of ``file_name`` that p2p.noise supports: (protocol, index in file, vector)."""
    vectors = json.loads((NOISE_DIR / file_name).read_text())["vectors"]
    selected = []
    for index, vector in enumerate(vectors):
        name = _protocol_name(vector)
        if not SUPPORTED.fullmatch(name) or "fallback" in vector:
            continue
        if any(vector.get(field) for field in PSK_FIELDS):
            continue
        selected.append((name, index, vector))
    return selected


def _vector_params() -> Iterator[Any]:
    for file_name in VECTOR_FILES:
        for name, index, vector in _select(file_name):
            yield pytest.param(vector, id=f"{file_name}:{name}:{index}")


def _hex(vector: dict[str, Any], field: str) -> bytes | None:
    value = vector.get(field)
    return bytes.fromhex(value) if value is not None else None


@pytest.mark.parametrize("file_name", VECTOR_FILES)
def test_every_file_has_supported_vectors(file_name: str) -> None:
    selected = _select(file_name)
    # Each file holds one vector per supported protocol (tests/vectors/README.md).
    expected = {
        f"Noise_{pattern}_25519_ChaChaPoly_{hash_name}"
        for pattern in ("XX", "IK", "NK")
        for hash_name in ("BLAKE2b", "SHA256")
    }
    assert sorted(name for name, _, _ in selected) == sorted(expected)


@pytest.mark.parametrize("vector", list(_vector_params()))
def test_vector(vector: dict[str, Any]) -> None:
    name = _protocol_name(vector)
    initiator = HandshakeState.from_protocol_name(
        name,
        initiator=True,
        prologue=_hex(vector, "init_prologue") or b"",
        s=_hex(vector, "init_static"),
        rs=_hex(vector, "init_remote_static"),
        e=_hex(vector, "init_ephemeral"),
    )
    responder = HandshakeState.from_protocol_name(
        name,
        initiator=False,
        prologue=_hex(vector, "resp_prologue") or b"",
        s=_hex(vector, "resp_static"),
        rs=_hex(vector, "resp_remote_static"),
        e=_hex(vector, "resp_ephemeral"),
    )
    transport: dict[bool, tuple[CipherState, CipherState]] = {}
    messages = vector["messages"]
    for i, message in enumerate(messages):
        payload = bytes.fromhex(message["payload"])
        expected = bytes.fromhex(message["ciphertext"])
        from_initiator = i % 2 == 0
        sender, receiver = (initiator, responder) if from_initiator else (responder, initiator)
        if not initiator.complete:
            assert sender.is_my_turn
            assert not receiver.is_my_turn
            assert sender.write_message(payload) == expected, f"message {i}"
            assert receiver.read_message(expected) == payload, f"message {i}"
            assert initiator.complete == responder.complete
            if initiator.complete:
                transport = {True: initiator.split(), False: responder.split()}
        else:
            send, _ = transport[from_initiator]
            _, recv = transport[not from_initiator]
            assert send.encrypt_with_ad(b"", payload) == expected, f"message {i}"
            assert recv.decrypt_with_ad(b"", expected) == payload, f"message {i}"
    assert initiator.complete, "the vector ended before the handshake did"
    assert len(messages) > len(noise._PATTERNS[initiator.pattern][1]), "no transport message"

    assert initiator.handshake_hash == responder.handshake_hash
    if "handshake_hash" in vector:
        assert initiator.handshake_hash.hex() == vector["handshake_hash"]
    resp_static = _hex(vector, "resp_static")
    init_static = _hex(vector, "init_static")
    assert resp_static is not None
    assert initiator.remote_static == crypto_scalarmult_base(resp_static)
    if initiator.pattern != "NK":
        assert init_static is not None
        assert responder.remote_static == crypto_scalarmult_base(init_static)


# --- helpers for the tests below --------------------------------------------------------------


def _key(seed: int) -> bytes:
    return bytes([seed]) * 32


def _public(private: bytes) -> bytes:
    key: bytes = crypto_scalarmult_base(private)
    return key


def _pair(pattern: str = "XX", hash_name: str = "BLAKE2b") -> tuple[HandshakeState, HandshakeState]:
    """A fresh initiator and responder with random ephemerals and fixed static keys."""
    init_s, resp_s = _key(1), _key(2)
    rs = _public(resp_s) if pattern in ("IK", "NK") else None
    init_static = None if pattern == "NK" else init_s
    initiator = HandshakeState(pattern, True, b"kith v1", init_static, rs, hash_name=hash_name)
    responder = HandshakeState(pattern, False, b"kith v1", resp_s, hash_name=hash_name)
    return initiator, responder


def _handshake(
    initiator: HandshakeState, responder: HandshakeState
) -> tuple[tuple[CipherState, CipherState], tuple[CipherState, CipherState]]:
    payloads: list[bytes] = []
    sender, receiver = initiator, responder
    while not initiator.complete:
        payload = f"payload {len(payloads)}".encode()
        assert receiver.read_message(sender.write_message(payload)) == payload
        payloads.append(payload)
        sender, receiver = receiver, sender
    assert responder.complete
    return initiator.split(), responder.split()


# --- handshakes between random instances ------------------------------------------------------


@pytest.mark.parametrize("hash_name", ["BLAKE2b", "SHA256"])
@pytest.mark.parametrize("pattern", ["XX", "IK", "NK"])
def test_random_handshake_agrees_and_transports_both_ways(pattern: str, hash_name: str) -> None:
    initiator, responder = _pair(pattern, hash_name)
    (i_send, i_recv), (r_send, r_recv) = _handshake(initiator, responder)

    assert initiator.handshake_hash == responder.handshake_hash
    assert len(initiator.handshake_hash) == (64 if hash_name == "BLAKE2b" else 32)
    assert initiator.remote_static == _public(_key(2))
    assert responder.remote_static == (None if pattern == "NK" else _public(_key(1)))
    assert not initiator.is_my_turn
    assert not responder.is_my_turn

    for i in range(5):
        to_responder = i_send.encrypt_with_ad(b"", b"hello %d" % i)
        assert r_recv.decrypt_with_ad(b"", to_responder) == b"hello %d" % i
        to_initiator = r_send.encrypt_with_ad(b"", b"hi %d" % i)
        assert i_recv.decrypt_with_ad(b"", to_initiator) == b"hi %d" % i
    assert i_send.n == r_recv.n == r_send.n == i_recv.n == 5


def test_two_handshakes_have_different_hashes_and_keys() -> None:
    first = _pair()
    second = _pair()
    (send1, _), _ = _handshake(*first)
    (send2, _), _ = _handshake(*second)
    assert first[0].handshake_hash != second[0].handshake_hash
    assert send1.encrypt_with_ad(b"", b"x") != send2.encrypt_with_ad(b"", b"x")


def test_prologue_mismatch_fails_the_handshake() -> None:
    initiator = HandshakeState("XX", True, b"kith v1", _key(1))
    responder = HandshakeState("XX", False, b"kith v2", _key(2))
    responder.read_message(initiator.write_message())  # message 0 carries no MAC yet
    with pytest.raises(DecryptError):
        initiator.read_message(responder.write_message())


def test_ik_initiator_with_wrong_responder_key_fails() -> None:
    initiator = HandshakeState("IK", True, b"", _key(1), _public(_key(3)))
    responder = HandshakeState("IK", False, b"", _key(2))
    with pytest.raises(DecryptError):
        responder.read_message(initiator.write_message(b"certificate"))


# --- tampering and limits ---------------------------------------------------------------------


@pytest.mark.parametrize("position", [0, 31, 32, 60, -1])
def test_tampered_handshake_message_raises_decrypt_error(position: int) -> None:
    initiator, responder = _pair()
    responder.read_message(initiator.write_message())
    message = bytearray(responder.write_message(b"certificate"))
    message[position] ^= 0x01
    with pytest.raises(DecryptError):
        initiator.read_message(bytes(message))
    # A failed handshake stays failed.
    assert not initiator.is_my_turn
    with pytest.raises(NoiseError, match="failed"):
        initiator.write_message()


def test_tampered_transport_message_raises_decrypt_error() -> None:
    (send, _), (_, recv) = _handshake(*_pair())
    ciphertext = send.encrypt_with_ad(b"", b"secret")
    for position in range(len(ciphertext)):
        tampered = bytearray(ciphertext)
        tampered[position] ^= 0x80
        with pytest.raises(DecryptError):
            recv.decrypt_with_ad(b"", bytes(tampered))
    with pytest.raises(DecryptError):
        recv.decrypt_with_ad(b"other ad", ciphertext)
    with pytest.raises(DecryptError):
        recv.decrypt_with_ad(b"", ciphertext[:15])
    assert recv.n == 0
    assert recv.decrypt_with_ad(b"", ciphertext) == b"secret"


def test_oversize_messages_raise_noise_error() -> None:
    initiator, responder = _pair()
    with pytest.raises(NoiseError, match="exceeds"):
        responder.read_message(bytes(MAX_MESSAGE + 1))
    with pytest.raises(NoiseError, match="exceeds"):
        initiator.write_message(bytes(MAX_MESSAGE - 32 + 1))  # 32 bytes of "e" come first
    assert len(initiator.write_message(bytes(MAX_MESSAGE - 32))) == MAX_MESSAGE

    cipher = CipherState(_key(9))
    assert len(cipher.encrypt_with_ad(b"", bytes(MAX_MESSAGE - 16))) == MAX_MESSAGE
    with pytest.raises(NoiseError, match="exceeds"):
        cipher.encrypt_with_ad(b"", bytes(MAX_MESSAGE - 15))
    with pytest.raises(NoiseError, match="exceeds"):
        CipherState(_key(9)).decrypt_with_ad(b"", bytes(MAX_MESSAGE + 1))


@pytest.mark.parametrize(("pattern", "minimum"), [("XX", 32), ("IK", 32 + 48 + 16), ("NK", 48)])
def test_too_short_first_message_raises_before_any_work(pattern: str, minimum: int) -> None:
    _, responder = _pair(pattern)
    with pytest.raises(NoiseError, match="shorter"):
        responder.read_message(bytes(minimum - 1))
    assert not responder.is_my_turn  # still waiting for a proper first message


def test_low_order_public_key_is_rejected() -> None:
    initiator, responder = _pair()
    responder.read_message(initiator.write_message())
    genuine = responder.write_message()
    with pytest.raises(NoiseError, match="low-order") as raised:
        initiator.read_message(bytes(32) + genuine[32:])  # responder's e = the zero point
    assert not isinstance(raised.value, DecryptError)

    _, nk_responder = _pair("NK")
    with pytest.raises(NoiseError, match="low-order"):
        nk_responder.read_message(bytes(48))


# --- state machine misuse ---------------------------------------------------------------------


def test_wrong_order_calls_raise() -> None:
    initiator, responder = _pair()
    assert initiator.is_my_turn
    assert not responder.is_my_turn
    with pytest.raises(NoiseError, match="out of turn"):
        responder.write_message()
    with pytest.raises(NoiseError, match="out of turn"):
        initiator.read_message(bytes(100))
    with pytest.raises(NoiseError, match="complete"):
        initiator.split()
    with pytest.raises(NoiseError, match="complete"):
        _ = initiator.handshake_hash

    message = initiator.write_message()
    with pytest.raises(NoiseError, match="out of turn"):
        initiator.write_message()
    responder.read_message(message)
    with pytest.raises(NoiseError, match="out of turn"):
        responder.read_message(message)

    _handshake_rest(initiator, responder)
    with pytest.raises(NoiseError, match="already complete"):
        initiator.write_message()
    with pytest.raises(NoiseError, match="already complete"):
        responder.read_message(bytes(100))
    initiator.split()
    with pytest.raises(NoiseError, match="only once"):
        initiator.split()


def _handshake_rest(initiator: HandshakeState, responder: HandshakeState) -> None:
    initiator.read_message(responder.write_message())
    responder.read_message(initiator.write_message())
    assert initiator.complete
    assert responder.complete


@pytest.mark.parametrize(
    "name",
    [
        "Noise_NN_25519_ChaChaPoly_BLAKE2b",
        "Noise_XXpsk3_25519_ChaChaPoly_BLAKE2b",
        "Noise_XX_448_ChaChaPoly_BLAKE2b",
        "Noise_XX_25519_AESGCM_BLAKE2b",
        "Noise_XX_25519_ChaChaPoly_BLAKE2s",
        "NoisePSK_XX_25519_ChaChaPoly_BLAKE2b",
        "Noise_XX_25519_ChaChaPoly_BLAKE2b_extra",
        "",
    ],
)
def test_unsupported_protocol_names_raise(name: str) -> None:
    with pytest.raises(NoiseError, match="unsupported"):
        HandshakeState.from_protocol_name(name, True, s=_key(1))


def test_from_protocol_name_builds_the_named_protocol() -> None:
    state = HandshakeState.from_protocol_name(
        "Noise_IK_25519_ChaChaPoly_SHA256", True, b"p", _key(1), _public(_key(2))
    )
    assert state.pattern == "IK"
    assert state.protocol_name == "Noise_IK_25519_ChaChaPoly_SHA256"


@pytest.mark.parametrize(
    ("pattern", "initiator", "s", "rs", "match"),
    [
        ("XX", True, None, None, "needs a static key"),
        ("XX", False, None, None, "needs a static key"),
        ("IK", True, _key(1), None, "needs the responder's static key"),
        ("IK", True, None, _key(2), "needs a static key"),
        ("NK", False, None, None, "needs a static key"),
        ("NK", True, None, None, "needs the responder's static key"),
        ("XX", True, _key(1), _key(2), "learns rs"),
        ("XX", True, b"short", None, "32-byte"),
        ("NK", True, None, b"\x00" * 33, "32-byte"),
    ],
)
def test_bad_construction_raises(
    pattern: str, initiator: bool, s: bytes | None, rs: bytes | None, match: str
) -> None:
    with pytest.raises(NoiseError, match=match):
        HandshakeState(pattern, initiator, b"", s, rs)


# --- CipherState ------------------------------------------------------------------------------


def test_nonce_counter_and_format() -> None:
    key = _key(7)
    sender, receiver = CipherState(key), CipherState(key)
    assert sender.has_key
    assert sender.n == 0
    first = sender.encrypt_with_ad(b"ad", b"one")
    second = sender.encrypt_with_ad(b"ad", b"two")
    assert sender.n == 2
    nonce_1 = bytes(4) + (1).to_bytes(8, "little")
    assert second == crypto_aead_chacha20poly1305_ietf_encrypt(b"two", b"ad", nonce_1, key)

    with pytest.raises(DecryptError):  # out of order
        receiver.decrypt_with_ad(b"ad", second)
    assert receiver.n == 0  # only a success advances the counter
    assert receiver.decrypt_with_ad(b"ad", first) == b"one"
    with pytest.raises(DecryptError):  # replay
        receiver.decrypt_with_ad(b"ad", first)
    assert receiver.decrypt_with_ad(b"ad", second) == b"two"
    assert receiver.n == 2

    sender.n = receiver.n = 2**64 - 2
    assert receiver.decrypt_with_ad(b"", sender.encrypt_with_ad(b"", b"last")) == b"last"
    with pytest.raises(NoiseError, match="exhausted"):
        sender.encrypt_with_ad(b"", b"one too many")
    with pytest.raises(NoiseError, match="exhausted"):
        receiver.decrypt_with_ad(b"", bytes(32))


def test_cipher_without_key_passes_through() -> None:
    cipher = CipherState()
    assert not cipher.has_key
    assert cipher.encrypt_with_ad(b"ad", b"plain") == b"plain"
    assert cipher.decrypt_with_ad(b"ad", b"plain") == b"plain"
    assert cipher.n == 0
    with pytest.raises(NoiseError):
        cipher.rekey()
    with pytest.raises(NoiseError):
        CipherState(b"too short")


def test_rekey_follows_the_spec() -> None:
    key = _key(5)
    sender, receiver = CipherState(key), CipherState(key)
    receiver.decrypt_with_ad(b"", sender.encrypt_with_ad(b"", b"before"))
    sender.rekey()
    receiver.rekey()
    assert sender.n == receiver.n == 1
    max_nonce = bytes(4) + (2**64 - 1).to_bytes(8, "little")
    new_key = crypto_aead_chacha20poly1305_ietf_encrypt(bytes(32), b"", max_nonce, key)[:32]
    nonce_1 = bytes(4) + (1).to_bytes(8, "little")
    ciphertext = sender.encrypt_with_ad(b"", b"after")
    assert ciphertext == crypto_aead_chacha20poly1305_ietf_encrypt(b"after", b"", nonce_1, new_key)
    assert receiver.decrypt_with_ad(b"", ciphertext) == b"after"


def test_cipher_accepts_bytes_like_input() -> None:
    sender, receiver = CipherState(_key(4)), CipherState(_key(4))
    ciphertext = sender.encrypt_with_ad(b"", bytearray(b"abc"))
    assert receiver.decrypt_with_ad(b"", memoryview(ciphertext)) == b"abc"


@pytest.mark.parametrize("size", [0, 1, 200, 4096, MAX_MESSAGE - 16])
def test_aead_is_libsodiums_chacha20poly1305_ietf(size: int) -> None:
    key, nonce, ad, plaintext = _key(8), bytes(range(12)), b"header", bytes(size)
    sealed = noise._aead_encrypt(key, nonce, ad, plaintext)
    assert sealed == crypto_aead_chacha20poly1305_ietf_encrypt(plaintext, ad, nonce, key)
    assert len(sealed) == size + 16
    assert noise._aead_decrypt(key, nonce, ad, sealed) == plaintext
    forged = sealed[:-1] + bytes([sealed[-1] ^ 1])
    with pytest.raises(DecryptError):
        noise._aead_decrypt(key, nonce, ad, forged)


def test_noise_uses_no_private_module_of_pynacl() -> None:
    source = Path(noise.__file__).read_text()
    assert "_sodium" not in source


# --- fuzzing ----------------------------------------------------------------------------------

FUZZ = settings(database=None, deadline=None, max_examples=150)
mutations = st.lists(st.tuples(st.integers(min_value=0), st.integers(1, 255)), max_size=4)


def _mutate(message: bytes, changes: list[tuple[int, int]], cut: int, extra: bytes) -> bytes:
    data = bytearray(message)
    for position, flip in changes:
        if data:
            data[position % len(data)] ^= flip
    return bytes(data[: len(data) - cut]) + extra


def _read_expecting_noise_error(state: HandshakeState, message: bytes) -> None:
    try:
        state.read_message(message)
    except NoiseError:
        pass


@FUZZ
@given(pattern=st.sampled_from(["XX", "IK", "NK"]), message=st.binary(max_size=300))
def test_fuzz_fresh_responder_with_arbitrary_bytes(pattern: str, message: bytes) -> None:
    _, responder = _pair(pattern)
    _read_expecting_noise_error(responder, message)


@FUZZ
@given(
    pattern=st.sampled_from(["XX", "IK", "NK"]),
    changes=mutations,
    cut=st.integers(0, 40),
    extra=st.binary(max_size=20),
)
def test_fuzz_fresh_responder_with_mutated_messages(
    pattern: str, changes: list[tuple[int, int]], cut: int, extra: bytes
) -> None:
    initiator, responder = _pair(pattern)
    genuine = initiator.write_message(b"certificate chain")
    _read_expecting_noise_error(responder, _mutate(genuine, changes, cut, extra))


@FUZZ
@given(
    pattern=st.sampled_from(["XX", "IK", "NK"]),
    arbitrary=st.one_of(st.none(), st.binary(max_size=300)),
    changes=mutations,
    cut=st.integers(0, 40),
    extra=st.binary(max_size=20),
)
def test_fuzz_initiator_mid_handshake(
    pattern: str, arbitrary: bytes | None, changes: list[tuple[int, int]], cut: int, extra: bytes
) -> None:
    initiator, responder = _pair(pattern)
    responder.read_message(initiator.write_message(b"hello"))
    genuine = responder.write_message(b"certificate chain")
    message = arbitrary if arbitrary is not None else _mutate(genuine, changes, cut, extra)
    _read_expecting_noise_error(initiator, message)
    if message == genuine:
        assert initiator.is_my_turn or initiator.complete


@FUZZ
@given(size=st.integers(MAX_MESSAGE + 1, 2 * MAX_MESSAGE))
def test_fuzz_oversize_lengths(size: int) -> None:
    _, responder = _pair()
    with pytest.raises(NoiseError):
        responder.read_message(bytes(size))
