"""Message actions end to end: real `kith` daemons of alice and bob on a virtual LAN
(netlan.py), driven with the commands of the issue's contract, one test per step.

     alice 10.99.k.11 ─┬─ bridge
     bob   10.99.k.12 ─┘

Alice and bob become contacts; bob replies to alice and reacts; alice edits her message,
sets a disappearing timer and unsends a message; the other sees each of them in
`history --json`, and `kith` refuses what is not allowed with exit 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from lankit import contacts_with_daemons
from netlan import Host, Lan, Spawned, describe, wait_until

TIMEOUT = 15.0
STARTUP_TIMEOUT = 20.0  # (the daemons' start, finding each other, the request)


@dataclass
class User:
    host: Host
    user_id: str = ""
    daemon: Spawned | None = None

    @property
    def name(self) -> str:
        return self.host.name

    def kith(self, *args: str, check: bool = True) -> Any:
        return self.host.kith(*args, check=check)

    def json(self, *args: str) -> Any:
        return self.host.kith_json(*args)

    def history(self, peer: str) -> list[dict[str, Any]]:
        return list(self.json("history", peer))

    def find(self, peer: str, pred: Any, what: str) -> dict[str, Any]:
        return wait_until(
            lambda: next((m for m in self.history(peer) if pred(m)), None), TIMEOUT, what=what
        )


@pytest.fixture(scope="module")
def users(lan: Lan) -> dict[str, User]:
    return {name: User(lan.add_host(name)) for name in ("alice", "bob")}


@pytest.mark.incremental
class TestMessageActions:
    def test_1_alice_and_bob_are_contacts(self, users: dict[str, User]) -> None:
        alice, bob = users["alice"], users["bob"]
        started = contacts_with_daemons(alice.host, bob.host, STARTUP_TIMEOUT)
        for u, s in zip((alice, bob), started, strict=True):
            u.user_id, u.daemon = s.user_id, s.daemon

    def test_2_bob_replies_and_reacts(self, users: dict[str, User]) -> None:
        alice, bob = users["alice"], users["bob"]
        sent = alice.json("send", "bob", "who brings the cake?")
        mine = bob.find("alice", lambda m: m["id"] == sent["id"], "bob to get the message")
        bob.kith("reply", "alice", mine["id"][:12], "I do!")
        bob.kith("react", "alice", mine["id"][:12], "\U0001f382")
        reply = alice.find("bob", lambda m: m["text"] == "I do!", "alice to get the reply")
        assert reply["reply_to"] == sent["id"]
        reacted = alice.find("bob", lambda m: m["id"] == sent["id"] and m["reactions"],
                             "alice to see the reaction")
        assert reacted["reactions"] == [
            {"emoji": "\U0001f382", "user_id": bob.user_id, "name": "bob"}]

    def test_3_alice_edits_and_bob_may_not(self, users: dict[str, User]) -> None:
        alice, bob = users["alice"], users["bob"]
        [first] = [m for m in alice.history("bob") if m["text"] == "who brings the cake?"]
        alice.kith("edit", "bob", first["id"], "who brings the cake? (chocolate)")
        edited = bob.find("alice", lambda m: m["id"] == first["id"] and m["edited"] == 1,
                          "bob to see the edit")
        assert edited["text"] == "who brings the cake? (chocolate)"
        refused = bob.kith("edit", "alice", first["id"], "nobody", check=False)
        assert refused.returncode == 1 and "not your message" in refused.stderr, describe(refused)

    def test_4_disappearing_messages_and_unsend(self, users: dict[str, User]) -> None:
        alice, bob = users["alice"], users["bob"]
        out = alice.kith("disappear", "bob", "1h").stdout
        assert "1 hour" in out
        sent = alice.json("send", "bob", "the door code is 4711")
        assert sent["expires_at"] == pytest.approx(sent["time"] + 3600, abs=0.01)
        got = bob.find("alice", lambda m: m["id"] == sent["id"], "bob to get the code")
        assert got["expires_at"] is None  # not read yet: bob's clock has not started
        bob.kith("read", "alice")
        got = bob.find("alice", lambda m: m["id"] == sent["id"] and m["expires_at"],
                       "bob's clock to start")
        alice.kith("unsend", "bob", sent["id"])
        gone = bob.find("alice", lambda m: m["id"] == sent["id"] and m["unsent"],
                        "bob to see the unsend")
        assert gone["text"] == ""
        for u, peer in ((alice, "bob"), (bob, "alice")):
            assert "4711" not in u.kith("history", peer).stdout

    def test_5_stop(self, users: dict[str, User]) -> None:
        for u in users.values():
            assert u.daemon is not None
            assert u.daemon.stop() == 0, u.daemon.report()
