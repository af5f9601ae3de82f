"""The linking state machines, pushed through each other without sockets."""

from __future__ import annotations

import pytest

from kith.p2p.errors import LocalProtocolError, RemoteProtocolError
from kith.p2p.identity import Identity, certify_device
from kith.p2p.linking import (
    ExistingDeviceLink,
    Grant,
    LinkAttempts,
    LinkGrant,
    LinkPake,
    LinkResult,
    State,
    WrongCode,
    code_hint,
    new_code,
    normalize_code,
)

HASH = bytes(range(32))


def a_grant() -> Grant:
    ident = Identity.generate("alice")
    cert = certify_device(ident.user_secret, bytes(32), "laptop")
    return Grant("alice", ident.user_secret[:32], cert, 4242, 7)


def run(existing: ExistingDeviceLink, new, grant: Grant):
    """Deliver messages both ways until both sides are done; returns what crossed."""
    crossed = []
    to_new = existing.start()
    crossed += to_new
    to_existing = []
    for m in to_new:
        to_existing += new.receive(m)
    crossed += to_existing
    for m in to_existing:
        existing.receive(m)
    assert existing.state is State.CONFIRMED
    to_new = existing.grant(grant)
    crossed += to_new
    for m in to_new:
        new.receive(m)
    return crossed


def test_codes_are_nine_digits_with_a_public_hint():
    code = new_code()
    assert len(normalize_code(code)) == 9 and code.count("-") == 2
    assert code_hint(code) == normalize_code(code)[:3]
    assert normalize_code(" 123 456-789 ") == "123456789"
    for bad in ("12345678", "1234567890", "abc-def-ghi", "١٢٣٤٥٦٧٨٩"):
        with pytest.raises(ValueError, match="not a link code"):
            normalize_code(bad)


def test_right_code_hands_over_the_grant():
    code = new_code()
    attempts = LinkAttempts(code)
    new = attempts.new_try(HASH)
    grant = a_grant()
    run(ExistingDeviceLink(code, HASH), new, grant)
    assert new.state is State.DONE and new.grant == grant


def test_wrong_code_fails_on_both_sides_and_sends_nothing_secret():
    attempts = LinkAttempts("111-222-333")
    new = attempts.new_try(HASH)
    existing = ExistingDeviceLink("111-222-334", HASH)
    replies = []
    for m in existing.start():
        replies += new.receive(m)
    existing.receive(replies[0])  # the PAKE message: no verdict yet
    with pytest.raises(WrongCode):
        existing.receive(replies[1])  # new device's confirmation does not match
    assert existing.state is State.FAILED
    with pytest.raises(LocalProtocolError):
        existing.grant(a_grant())  # the identity never leaves
    with pytest.raises(WrongCode):
        new.receive(existing.refusal())
    assert new.grant is None


def test_three_wrong_tries_end_the_attempt():
    attempts = LinkAttempts("111-222-333")
    for _ in range(3):
        new = attempts.new_try(HASH)
        existing = ExistingDeviceLink("999-999-999", HASH)
        out = []
        for m in existing.start():
            out += new.receive(m)
        existing.receive(out[0])
        with pytest.raises(WrongCode):
            existing.receive(out[1])
        attempts.wrong_code()
    assert attempts.over
    with pytest.raises(LocalProtocolError):
        attempts.new_try(HASH)


def test_a_man_in_the_middle_has_another_handshake_hash():
    code = new_code()
    new = LinkAttempts(code).new_try(HASH)
    existing = ExistingDeviceLink(code, bytes(32))  # its Noise session is with the MITM
    out = []
    for m in existing.start():
        out += new.receive(m)
    existing.receive(out[0])
    with pytest.raises(WrongCode):
        existing.receive(out[1])


def test_out_of_order_and_garbage_are_the_peers_fault():
    code = new_code()
    new = LinkAttempts(code).new_try(HASH)
    with pytest.raises(RemoteProtocolError):
        new.receive(LinkGrant(b"x" * 64))  # before anything
    new = LinkAttempts(code).new_try(HASH)
    with pytest.raises(RemoteProtocolError):
        new.receive(LinkPake(b"\x00" * 5))
    existing = ExistingDeviceLink(code, HASH)
    existing.start()
    with pytest.raises(WrongCode):
        existing.receive(LinkResult(False, "wrong code"))


def test_a_tampered_grant_is_refused():
    code = new_code()
    new = LinkAttempts(code).new_try(HASH)
    existing = ExistingDeviceLink(code, HASH)
    out = []
    for m in existing.start():
        out += new.receive(m)
    for m in out:
        existing.receive(m)
    confirm, grant = existing.grant(a_grant())
    new.receive(confirm)
    box = bytearray(grant.box)
    box[-1] ^= 1
    with pytest.raises(RemoteProtocolError, match="unreadable grant"):
        new.receive(LinkGrant(bytes(box)))
