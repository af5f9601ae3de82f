"""p2p.fingerprint: Signal's published safety-number vector, Kith's use of it, and the SAS."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from kith.p2p.fingerprint import (
    SAS_EMOJI,
    fingerprint_bytes,
    format_safety_number,
    normalize_safety_number,
    numeric_fingerprint,
    qr_payload_matches,
    safety_number,
    safety_qr_payload,
    sas_emoji,
    scannable_payload,
)

VECTOR_DIR = Path(__file__).resolve().parents[2] / "vectors"

ALICE = bytes(range(32))
BOB = bytes(range(100, 132))
CAROL = bytes(range(200, 232))


@pytest.fixture(scope="module")
def signal() -> dict[str, Any]:
    vector: dict[str, Any] = json.loads((VECTOR_DIR / "signal-fingerprint.json").read_text())
    return vector


def _party(signal: dict[str, Any], name: str) -> tuple[bytes, bytes]:
    """(key, stable id) as given: 33-byte keys with Signal's 0x05 type prefix."""
    key = bytes.fromhex(signal[f"{name}_identity_key_hex"])
    assert len(key) == 33
    return key, signal[f"{name}_stable_id_utf8"].encode()


# --- Signal's vector --------------------------------------------------------------------------


def test_signal_displayable_fingerprint(signal: dict[str, Any]) -> None:
    alice, bob = _party(signal, "alice"), _party(signal, "bob")
    iterations = signal["iterations"]
    assert numeric_fingerprint(*alice, *bob, iterations) == signal["displayable"]
    assert numeric_fingerprint(*bob, *alice, iterations) == signal["displayable"]


@pytest.mark.parametrize("name", ["alice", "bob"])
def test_signal_fingerprint_bytes(signal: dict[str, Any], name: str) -> None:
    key, stable_id = _party(signal, name)
    expected = signal[f"{name}_fingerprint_first32_hex"]
    assert fingerprint_bytes(key, stable_id, signal["iterations"]).hex() == expected


@pytest.mark.parametrize(("local", "remote"), [("alice", "bob"), ("bob", "alice")])
def test_signal_scannable_payload(signal: dict[str, Any], local: str, remote: str) -> None:
    payload = scannable_payload(*_party(signal, local), *_party(signal, remote))
    assert payload.hex() == signal[f"{local}_scannable_v2_hex"]


def test_default_iterations_are_signals() -> None:
    assert numeric_fingerprint(ALICE, b"a", BOB, b"b") == numeric_fingerprint(
        ALICE, b"a", BOB, b"b", 5200
    )
    with pytest.raises(ValueError, match="iterations"):
        fingerprint_bytes(ALICE, b"a", 0)


# --- Kith's safety number ---------------------------------------------------------------------


def test_safety_number_is_symmetric_and_pairwise() -> None:
    number = safety_number(ALICE, BOB)
    assert number == safety_number(BOB, ALICE)
    assert len(number) == 60
    assert number.isdigit()
    assert number != safety_number(ALICE, CAROL)
    # The identity key doubles as the stable identifier.
    assert number == numeric_fingerprint(ALICE, ALICE, BOB, BOB)


def test_safety_number_rejects_wrong_key_sizes() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        safety_number(ALICE + b"\x00", BOB)
    with pytest.raises(ValueError, match="32 bytes"):
        safety_qr_payload(ALICE, BOB[:31])


def test_format_into_twelve_groups_of_five() -> None:
    digits = "".join(str(i % 10) for i in range(60))
    groups = format_safety_number(digits)
    assert len(groups) == 12
    assert all(len(group) == 5 for group in groups)
    assert "".join(groups) == digits
    assert groups[0] == "01234"
    assert groups[-1] == "56789"
    for bad in ("1" * 59, "1" * 61, "1" * 59 + "x", "\u0661" * 60):  # last: Arabic-Indic digits
        with pytest.raises(ValueError, match="60 digits"):
            format_safety_number(bad)


def test_normalize_strips_whitespace_and_dashes() -> None:
    number = safety_number(ALICE, BOB)
    shown = " ".join(format_safety_number(number))
    assert normalize_safety_number(shown) == number
    assert (
        normalize_safety_number("\t12345-67890\n 11111\u201322222\u00a0") == "12345678901111122222"
    )
    assert normalize_safety_number("") == ""


def test_qr_payload_matches_only_the_right_pair() -> None:
    shown_by_bob = safety_qr_payload(BOB, ALICE)
    assert shown_by_bob != safety_qr_payload(ALICE, BOB)  # each side puts itself first
    assert qr_payload_matches(shown_by_bob, local_user=ALICE, remote_user=BOB)
    assert not qr_payload_matches(shown_by_bob, local_user=BOB, remote_user=ALICE)
    assert not qr_payload_matches(shown_by_bob, local_user=ALICE, remote_user=CAROL)
    assert not qr_payload_matches(safety_qr_payload(CAROL, ALICE), ALICE, BOB)
    assert not qr_payload_matches(shown_by_bob[:-1], ALICE, BOB)
    assert not qr_payload_matches(b"", ALICE, BOB)


# --- SAS ----------------------------------------------------------------------------------------


def test_sas_table_shape() -> None:
    assert len(SAS_EMOJI) == 64
    assert len({emoji for emoji, _ in SAS_EMOJI}) == 64
    assert len({name for _, name in SAS_EMOJI}) == 64


def test_sas_table_equals_the_matrix_table() -> None:
    table = json.loads((VECTOR_DIR / "sas-emoji.json").read_text())
    assert [entry["number"] for entry in table] == list(range(64))
    assert SAS_EMOJI == [(entry["emoji"], entry["description"]) for entry in table]


def test_sas_emoji_is_deterministic_and_seven_long() -> None:
    handshake_hash = bytes(range(64))
    first = sas_emoji(handshake_hash)
    assert first == sas_emoji(bytes(range(64)))
    assert len(first) == 7
    assert all(pair in SAS_EMOJI for pair in first)


def test_sas_emoji_index_derivation() -> None:
    # Recompute independently: 42 bits as a bit string, read six at a time.
    handshake_hash = b"\x42" * 32
    digest = hashlib.blake2b(handshake_hash, digest_size=32, person=b"kith-sas").digest()
    bit_string = "".join(f"{byte:08b}" for byte in digest[:6])
    indices = [int(bit_string[i : i + 6], 2) for i in range(0, 42, 6)]
    assert sas_emoji(handshake_hash) == [SAS_EMOJI[i] for i in indices]


def test_sas_emoji_differs_between_handshakes() -> None:
    hashes = [bytes([seed]) * 64 for seed in range(8)] + [bytes(32), b"\xff" * 32]
    results = {tuple(sas_emoji(h)) for h in hashes}
    assert len(results) == len(hashes)
    # One flipped bit in the handshake hash changes the emoji.
    assert sas_emoji(bytes(64)) != sas_emoji(bytes(63) + b"\x01")


def test_sas_emoji_rejects_a_non_hash() -> None:
    with pytest.raises(ValueError, match="handshake hash"):
        sas_emoji(b"")
