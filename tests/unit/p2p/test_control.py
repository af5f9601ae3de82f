"""The control socket under bad local input (issue 15 #13) and strangers (#8): deep
nesting, wrong argument types, a `listen` client that never reads, a client or a
server of another user (SO_PEERCRED)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from pathlib import Path
from typing import Any

import pytest
from clikit import eventually

from kith.p2p import commands, control
from kith.p2p.control import ControlClient, ControlServer, parse_request
from kith.p2p.node import MessagesAdded
from kith.p2p.safefs import UntrustedProfile
from kith.storage import MessageRow


class FakeNode:
    """What the control server and `listen` use of a node."""

    def __init__(self, profile: Path) -> None:
        self.profile = profile
        self.user_id = b"\x01" * 32
        self.listeners: list[Any] = []

    def subscribe(self, fn: Any) -> Any:
        self.listeners.append(fn)
        return lambda: self.listeners.remove(fn)

    def names(self) -> dict[bytes, str]:
        return {b"\x02" * 32: "bob"}

    def incoming(self, n: int, text: str = "x" * 1000) -> None:
        rows = [MessageRow(os.urandom(32), b"c" * 32, b"d" * 32, b"\x02" * 32, i, i,
                           1_700_000_000_000, text, False) for i in range(n)]
        for fn in list(self.listeners):
            fn(MessagesAdded(b"c" * 32, rows))


@pytest.fixture
async def served(tmp_path, monkeypatch):
    run = tmp_path / "run"
    run.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(run))
    node = FakeNode(tmp_path / "p")
    server = ControlServer(node)  # type: ignore[arg-type]
    await server.start()
    try:
        yield node, server
    finally:
        await server.stop()


async def _ask(path: Path, line: bytes) -> dict[str, Any]:
    reader, writer = await asyncio.open_unix_connection(str(path))
    try:
        writer.write(line)
        await writer.drain()
        return json.loads(await asyncio.wait_for(reader.readline(), 30))
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


async def test_deep_nesting_gets_a_clear_error_reply(served) -> None:
    _, server = served
    deep = b"[" * 30_000 + b"]" * 30_000
    line = b'{"cmd": "contacts", "args": {"x": ' + deep + b"}}\n"
    reply = await _ask(server.path, line[: control.MAX_REQUEST - 1] + b"\n")
    assert reply["ok"] is False and reply["code"] == "usage"
    assert "malformed" in reply["error"] or "too long" in reply["error"]
    nested = b'{"cmd": "contacts", "args": ' + b'{"a":' * 5000 + b"1" + b"}" * 5000 + b"}\n"
    assert len(nested) < control.MAX_REQUEST
    reply = await _ask(server.path, nested)
    assert reply == {"ok": False, "code": "usage",
                     "error": "malformed request: not one JSON object a line"}


def test_parse_request_survives_recursion_and_wrong_shapes() -> None:
    with pytest.raises(commands.BadArguments, match="malformed"):
        parse_request(b"[" * 100_000)
    for bad in (b"[]", b'"send"', b'{"cmd": 5}', b'{"cmd": "send", "args": [1]}'):
        with pytest.raises(commands.BadArguments, match="malformed"):
            parse_request(bad)


@pytest.mark.parametrize(
    ("name", "args", "match"),
    [
        ("send", {"peer": ["bob"], "text": "hi"}, "'peer' must be text, not list"),
        ("send", {"peer": "bob", "text": {"a": 1}}, "'text' must be text, not dict"),
        ("send", {"peer": "bob"}, "'text' is missing"),
        ("send", {"peer": "bob", "text": "hi", "wait": "soon"}, "'wait' must be a number"),
        ("history", {"peer": "bob", "limit": 2.5}, "'limit' must be a number, not float"),
        ("add", {"peer": "bob", "trust_new_key": "yes"}, "'trust_new_key' must be true or"),
        ("peers", {"wait": True}, "'wait' must be a number, not bool"),
        ("nonsense", {}, "unknown command"),
    ],
)
async def test_wrong_argument_types_get_a_clear_error_reply(served, name, args, match) -> None:
    _, server = served
    reply = await _ask(server.path, json.dumps({"cmd": name, "args": args}).encode() + b"\n")
    assert reply["ok"] is False and reply["code"] == "usage", reply
    assert match in reply["error"], reply


async def test_a_listen_client_that_never_reads_is_dropped(served, caplog) -> None:
    node, server = served
    reader, writer = await asyncio.open_unix_connection(str(server.path), limit=1 << 16)
    writer.write(b'{"cmd": "listen"}\n')
    await writer.drain()
    assert json.loads(await reader.readline())["ok"] is True
    await eventually(lambda: bool(node.listeners))
    caplog.set_level(logging.WARNING, "kith.p2p.control")
    sent = 0
    while node.listeners:  # the client reads nothing; the server drops it at its limit
        node.incoming(100)
        sent += 100
        await asyncio.sleep(0)
        assert sent < 100_000, "the listen client was never dropped"
    await eventually(lambda: "dropped a listen client" in caplog.text)
    assert "does not read" in caplog.text
    await asyncio.wait_for(reader.read(), 30)  # what was sent, then the server hangs up
    assert reader.at_eof()
    writer.close()
    with contextlib.suppress(ConnectionError):
        await writer.wait_closed()


async def test_listen_ends_when_its_queue_overflows() -> None:
    node = FakeNode(Path("/nonexistent"))
    got: list[dict[str, Any]] = []
    task = asyncio.create_task(commands.listen(node, got.append, max_queue=3))  # type: ignore[arg-type]
    await eventually(lambda: bool(node.listeners), every=0)
    for _ in range(10):  # all before listen gets a turn: the queue holds only 3
        node.incoming(1)
    with pytest.raises(commands.ListenOverflow):
        await asyncio.wait_for(task, 10)
    assert not node.listeners


async def test_the_server_refuses_a_client_of_another_user(served, monkeypatch) -> None:
    _, server = served
    monkeypatch.setattr(control, "peer_uid", lambda sock: os.geteuid() + 1)
    reply = await _ask(server.path, b'{"cmd": "contacts"}\n')
    assert reply == {"ok": False, "code": "not_allowed",
                     "error": "this Kith serves only its own user"}


async def test_the_client_refuses_a_server_of_another_user(served, monkeypatch) -> None:
    node, server = served
    monkeypatch.setattr(control, "peer_uid", lambda sock: os.geteuid() + 1)
    with pytest.raises(UntrustedProfile, match="served by another user"):
        await ControlClient(node.profile).open()


async def test_peer_uid_is_the_user_at_the_other_end(served) -> None:
    _, server = served
    reader, writer = await asyncio.open_unix_connection(str(server.path))
    try:
        assert control.peer_uid(writer.get_extra_info("socket")) == os.geteuid()
    finally:
        writer.close()
        await writer.wait_closed()


@pytest.mark.skipif(os.geteuid() != 0, reason="changing a file's owner needs root")
async def test_the_client_will_not_talk_to_a_planted_socket(tmp_path, monkeypatch) -> None:
    run = tmp_path / "run"
    run.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(run))
    profile = tmp_path / "p"
    path = ControlClient(profile).path
    heard: list[bytes] = []

    async def planted(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        heard.append(await reader.readline())
        writer.close()

    server = await asyncio.start_unix_server(planted, path=str(path))
    try:
        os.chown(path, 65534, 65534)
        with pytest.raises(UntrustedProfile, match="not a control socket of yours"):
            await ControlClient(profile).open()
        await asyncio.sleep(0)
        assert heard == []
    finally:
        server.close()
        await server.wait_closed()
