"""The one name rule (p2p.identity.name_problem) and where it applies: Identity,
certificates and the handshake's hello (p2p.session)."""

from __future__ import annotations

import pytest

from kith.p2p import identity as ident
from kith.p2p.errors import RemoteProtocolError
from kith.p2p.identity import Identity
from kith.p2p.session import Session

ALICE = Identity.generate("Alice", "laptop")
BOB = Identity.generate("Bob", "desktop")

BAD = {
    "empty": "",
    "too long": "x" * 65,
    "leading space": " alice",
    "trailing space": "alice ",
    "newline": "alice\nkith: forged log line",
    "escape": "\x1b[2Jalice",
    "NUL": "ali\x00ce",
    "DEL": "alice\x7f",
    "C1 control": "alice\x9b",
    "RTL override": "alice\u202egpj.exe",
    "LTR isolate": "\u2066alice",
    "zero-width space": "al\u200bice",
    "zero-width joiner": "alice\u200d",
    "word joiner": "ali\u2060ce",
    "BOM": "\ufeffalice",
    "soft hyphen": "ali\u00adce",
    "Hangul filler": "\u3164",
    "line separator": "alice\u2028bob",
}
GOOD = ["A", "x" * 64, "Zoë", "李小龙", "Bob the 2nd", "Ана-Мария", "أحمد", "🙂 Sam"]


@pytest.mark.parametrize("name", list(BAD.values()), ids=list(BAD))
def test_bad_names_are_refused_with_a_reason(name: str) -> None:
    problem = ident.name_problem(name)
    assert problem is not None and "name" in problem
    assert not ident.valid_name(name)
    with pytest.raises(ValueError, match="name"):
        Identity.generate(name)
    if name:  # (no device name: the device is named after the user)
        with pytest.raises(ValueError, match="name"):
            Identity.generate("Alice", name)


@pytest.mark.parametrize("name", GOOD)
def test_good_names_pass(name: str) -> None:
    assert ident.name_problem(name) is None
    assert Identity.generate(name, name).cert.name == name


def test_a_name_that_is_not_text_is_refused() -> None:
    assert ident.name_problem(b"alice") == "a name must be text"
    assert ident.name_problem(None) is not None


def _handshake(client: Session, server: Session) -> None:
    data = client.initiate()
    sessions = {id(client): server, id(server): client}
    sender = client
    while data:
        receiver = sessions[id(sender)]
        receiver.receive_data(data)
        data = receiver.pending_output()
        sender = receiver


@pytest.mark.parametrize("name", ["alice\u202e", "\x1b[31malice", "al\u200bice", "a\nb"])
def test_the_handshake_refuses_a_display_name_against_the_rule(name: str) -> None:
    client = Session(ALICE, initiator=True, name=name)
    server = Session(BOB, initiator=False)
    with pytest.raises(RemoteProtocolError, match="invalid display name"):
        _handshake(client, server)


def test_the_handshake_takes_a_good_display_name() -> None:
    client = Session(ALICE, initiator=True, name="Ally 🙂")
    server = Session(BOB, initiator=False)
    _handshake(client, server)
    assert server.peer is not None and server.peer.name == "Ally 🙂"
