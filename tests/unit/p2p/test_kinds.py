"""p2p.kinds: the table of event kinds (declared once, closed), body encoding and
decoding through a kind's rules, and the batch's parts."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest
from corekit import start_me
from hypothesis import given, settings
from hypothesis import strategies as st

from kith.p2p.actions import KINDS as ACTION_KINDS
from kith.p2p.contacts import CONTACT, ROSTER, ContactBody, RosterBody
from kith.p2p.errors import RemoteProtocolError
from kith.p2p.groups import KINDS as GROUP_KINDS
from kith.p2p.kinds import CONV_TYPES, DIRECT, GROUP, SELF, Author, Batch, Kind, KindTable, Part
from kith.p2p.messages import MAX_TEXT, MESSAGE, READ, RECEIPT, MessageBody, ReadBody, ReceiptBody
from kith.p2p.settings import SETTING, SettingBody

ALL = (MESSAGE, RECEIPT, READ, CONTACT, ROSTER, SETTING)
_enc = msgspec.msgpack.encode


class PokeBody(msgspec.Struct, array_like=True, frozen=True):
    n: int


def _poke(name: str = "poke", body: type[msgspec.Struct] = PokeBody) -> Kind[PokeBody]:
    return Kind(
        name, body, where=frozenset({DIRECT}), who=Author.MEMBER,  # type: ignore[arg-type]
        apply=lambda ctx, e, body: None,
        check=lambda b: None if b.n >= 0 else "negative",
    )


# -- declaring --------------------------------------------------------------------------------


def test_a_kind_declared_twice_is_refused() -> None:
    table = KindTable([_poke()])
    with pytest.raises(ValueError, match="declared twice"):
        table.declare(_poke())


def test_a_body_type_declared_under_a_second_name_is_refused() -> None:
    table = KindTable([_poke("poke")])
    with pytest.raises(ValueError, match="declared twice"):
        table.declare(_poke("prod"))
    assert table.names() == ["poke"]


def test_a_name_declared_twice_with_another_body_is_refused() -> None:
    class OtherBody(msgspec.Struct, array_like=True, frozen=True):
        n: int

    table = KindTable([_poke()])
    with pytest.raises(ValueError, match="declared twice"):
        table.declare(_poke("poke", OtherBody))
    kept = table.get("poke")
    assert kept is not None and kept.body is PokeBody


@pytest.mark.parametrize("where", [frozenset(), frozenset({"channel"}), frozenset({DIRECT, "x"})])
def test_a_kind_for_an_unknown_conversation_type_is_refused(where: frozenset[str]) -> None:
    with pytest.raises(ValueError, match="unknown conversation types"):
        Kind("poke", PokeBody, where=where, who=Author.MEMBER, apply=lambda c, e, b: None)


def test_the_first_release_kinds_are_declared_once_each() -> None:
    table = KindTable(ALL)
    assert table.names() == ["contact", "message", "read", "receipt", "roster", "setting"]
    for kind in ALL:
        assert table.get(kind.name) is kind
        assert kind.where <= CONV_TYPES


def test_where_each_kind_may_appear_and_who_may_author_it() -> None:
    """The authorization table of the first release's kinds, as the issue describes it."""
    assert {k.name: (set(k.where), k.who) for k in ALL} == {
        "message": ({DIRECT, GROUP}, Author.CONTACT),
        "receipt": ({DIRECT, GROUP}, Author.CONTACT),
        "read": ({SELF}, Author.OWN),
        "contact": ({DIRECT}, Author.MEMBER),
        "roster": ({SELF}, Author.OWN),
        "setting": ({SELF}, Author.OWN),
    }
    # In a group any member writes messages and receipts (p2p.groups decides who is one).
    assert {k.name: dict(k.who_in) for k in ALL if k.who_in} == {
        "message": {GROUP: Author.MEMBER}, "receipt": {GROUP: Author.MEMBER},
    }


async def test_a_node_declares_exactly_the_feature_kinds(tmp_path: Path) -> None:
    me = await start_me(tmp_path)
    try:
        assert me.core.kinds.names() == sorted(k.name for k in (*ALL, *GROUP_KINDS, *ACTION_KINDS))
        for kind in (*ALL, *GROUP_KINDS, *ACTION_KINDS):
            assert me.core.kinds.get(kind.name) is kind
        assert me.core.kinds.get("poke") is None
    finally:
        await me.node.stop()


# -- encoding ---------------------------------------------------------------------------------


def test_encode_gives_the_kind_and_the_body_bytes() -> None:
    table = KindTable(ALL)
    kind, data = table.encode(MessageBody("hi"))
    assert kind is MESSAGE
    assert data == _enc(["hi", b"", 0, []])  # (text, reply_to, timer, files)
    assert MESSAGE.decode(data) == MessageBody("hi")
    assert MESSAGE.decode(_enc(["hi"])) == MessageBody("hi")  # as the first release wrote


def test_encode_of_an_undeclared_body_type_is_refused() -> None:
    with pytest.raises(TypeError, match="not a declared event body"):
        KindTable(ALL).encode(PokeBody(1))
    with pytest.raises(TypeError):
        KindTable([MESSAGE]).encode(ReceiptBody("read", b"a" * 32, 1))


@pytest.mark.parametrize(
    "body",
    [
        MessageBody(""),
        MessageBody("x" * (MAX_TEXT + 1)),
        ReceiptBody("seen", b"a" * 32, 1),
        ReceiptBody("read", b"short", 1),
        ReceiptBody("read", b"a" * 32, 0),
        ReadBody(b"c" * 31, b"a" * 32, 1),
        ReadBody(b"c" * 32, b"a" * 32, 0),
        ContactBody("befriend", "Bob"),
        RosterBody(b"u" * 31, "bob", "accepted", False),
        RosterBody(b"u" * 32, "bob", "friend", False),
        RosterBody(b"u" * 32, "b" * 65, "accepted", False),
        RosterBody(b"u" * 32, "bob", "accepted", False, b"r" * 31),
        SettingBody("", "true"),
        SettingBody("k" * 81, "true"),
        SettingBody("read_receipts", "x" * 4097),
    ],
    ids=[
        "empty text", "text too long", "receipt status", "receipt author size", "receipt seq 0",
        "read conv size", "read seq 0", "contact action", "roster user size", "roster state",
        "roster name too long", "roster replaces size", "setting empty key",
        "setting key too long", "setting value too long",
    ],
)
def test_a_body_breaking_its_rules_is_refused_both_ways(body: msgspec.Struct) -> None:
    table = KindTable(ALL)
    with pytest.raises(ValueError, match="invalid"):
        table.encode(body)
    kind = next(k for k in ALL if k.body is type(body))
    with pytest.raises(RemoteProtocolError, match=f"malformed {kind.name} body"):
        kind.decode(_enc(body))


@pytest.mark.parametrize(
    "body",
    [
        MessageBody("x" * MAX_TEXT),
        ReceiptBody("delivered", b"a" * 32, 1),
        ReadBody(b"c" * 32, b"a" * 32, 9),
        ContactBody("decline", ""),
        RosterBody(b"u" * 32, "b" * 64, "declined", True, b"r" * 32),
        SettingBody("k" * 64, "x" * 4096),
    ],
)
def test_a_body_at_its_limits_roundtrips(body: msgspec.Struct) -> None:
    kind, data = KindTable(ALL).encode(body)
    assert kind.decode(data) == body


# -- decoding ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "data"),
    [
        (MESSAGE, b"\xc1"),
        (MESSAGE, b""),
        (MESSAGE, _enc([1])),
        (RECEIPT, _enc(["hi"])),
        (READ, _enc({"conv": b"c" * 32})),
        (CONTACT, _enc(["request"])),
        (ROSTER, _enc([b"u" * 32, "bob", "accepted", "yes"])),
        (SETTING, _enc(["k", 1])),
    ],
)
def test_decode_of_a_malformed_body_raises_remote_protocol_error(
    kind: Kind, data: bytes
) -> None:
    with pytest.raises(RemoteProtocolError, match=f"malformed {kind.name} body"):
        kind.decode(data)


@pytest.mark.parametrize("kind", [MESSAGE, RECEIPT, CONTACT])
def test_decode_of_invalid_utf8_raises_remote_protocol_error(kind: Kind) -> None:
    body = {
        "message": MessageBody("é"),
        "receipt": ReceiptBody("é", b"a" * 32, 1),
        "contact": ContactBody("é", "x"),
    }[kind.name]
    bad = _enc(body).replace("é".encode(), b"\x80\x80")
    with pytest.raises(RemoteProtocolError):
        kind.decode(bad)


@settings(database=None, max_examples=300, deadline=None)
@given(kind=st.sampled_from(ALL), data=st.binary(max_size=200))
def test_decode_of_arbitrary_bytes_raises_only_remote_protocol_error(
    kind: Kind, data: bytes
) -> None:
    try:
        body = kind.decode(data)
    except RemoteProtocolError:
        return
    assert isinstance(body, kind.body)
    assert kind.check(body) is None


# -- batches ----------------------------------------------------------------------------------


class Counting(Part):
    made = 0

    def __init__(self) -> None:
        Counting.made += 1


def test_a_batch_makes_each_part_once_and_keeps_their_order() -> None:
    Counting.made = 0
    batch = Batch()
    a = batch.part("a", Counting)
    assert batch.part("a", Counting) is a
    b = batch.part("b", Counting)
    assert Counting.made == 2
    assert list(batch.parts) == [a, b]
    assert list(Batch().parts) == []
