"""Two people on a LAN, end to end: real `kith` processes on three hosts (netlan.py).

The class below is the story of the issue, one test per numbered step, run in order on
one virtual LAN; after a failed step the later ones are skipped ("incremental").

     alice 10.99.k.11 ─┐
     bob   10.99.k.12 ─┼─ bridge     steps 1-7: alice and bob
     mallory .13      ─┘             step 8: mallory claims to be "bob"

Daemons run with the default interfaces (all of the host's) in steps 2-6 and with
``--interface <host ip>`` after the restart of step 7 and for mallory.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest
from netlan import Host, Lan, Spawned, check_lan, describe, wait_until

from kith.p2p.profile import control_socket_path

T = TypeVar("T")

READY_LINE = r"^kith daemon ready"
WHOAMI_KEYS = ("name", "user_id", "device_id", "fingerprint")
CONTACT_KEYS = ("name", "user_id", "state", "verified", "key_changed")
SEE_EACH_OTHER_SECONDS = 2.0  # the bound, from "both daemons ready"
STARTUP_TIMEOUT = 20.0
DELIVERY_TIMEOUT = 15.0
SAS_TABLE = Path(__file__).resolve().parents[1] / "vectors" / "sas-emoji.json"


@dataclass
class Person:
    """A user on their own host: identity, and the daemon while it runs."""

    host: Host
    user_id: str = ""
    daemon: Spawned | None = None
    daemons: list[Spawned] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.host.name

    def kith(self, *args: str, check: bool = True, timeout: float = 30) -> Any:
        return self.host.kith(*args, check=check, timeout=timeout)

    def json(self, *args: str, timeout: float = 30) -> Any:
        return self.host.kith_json(*args, timeout=timeout)

    def start(self, *, interface: bool = False) -> Spawned:
        assert self.daemon is None, f"{self.name}'s daemon already runs"
        extra = ["--interface", self.host.ip] if interface else []
        # -vv: what discovery and the connections did is in the report of a failure
        self.daemon = self.host.spawn(
            self.host.kith_argv(*extra, "-vv", "daemon"),
            label=f"kith daemon #{len(self.daemons) + 1}",
        )
        self.daemons.append(self.daemon)
        return self.daemon

    def wait_ready(self) -> str:
        assert self.daemon is not None
        return self.daemon.wait_for_line(READY_LINE, STARTUP_TIMEOUT)

    def stop(self) -> None:
        """Stop the daemon with SIGTERM and check it shut down cleanly."""
        assert self.daemon is not None
        daemon, self.daemon = self.daemon, None
        code = daemon.stop()
        assert code == 0, f"{self.name}'s daemon did not shut down cleanly:\n{daemon.report()}"
        assert "kith daemon stopped" in daemon.stdout_text(), daemon.report()

    # -- reading state ------------------------------------------------------------------

    def peers(self, wait: float | None = None) -> list[dict[str, Any]]:
        extra = ["--wait", str(wait)] if wait is not None else []
        return list(self.json("peers", *extra))

    def contacts(self) -> dict[str, dict[str, Any]]:
        """Contacts and requests by user id."""
        return {c["user_id"]: c for c in self.json("contacts")}

    def history(self, peer: str) -> list[dict[str, Any]]:
        return list(self.json("history", peer))


def in_parallel(*calls: Callable[[], T]) -> list[T]:
    """Run blocking calls (each starting a process) at the same time; their results."""
    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        futures = [pool.submit(call) for call in calls]
        return [f.result() for f in futures]


def start_all(people: list[Person], *, interface: bool = False) -> float:
    """Start the daemons together; the monotonic time at which all had printed ready."""
    for person in people:
        person.start(interface=interface)
    in_parallel(*(person.wait_ready for person in people))
    return time.monotonic()


def see_each_other(
    a: Person, b: Person, ready: float, timings: dict[str, float], setting: str
) -> None:
    """Assert the issue's bound: a `kith peers --wait 2` started once both daemons are
    ready lists the other (by user id, so after a handshake, not just an mDNS advert)."""

    def look(person: Person) -> tuple[list[dict[str, Any]], float]:
        seen = person.peers(wait=SEE_EACH_OTHER_SECONDS)
        return seen, time.monotonic() - ready

    for (seen, took), person, other in zip(
        in_parallel(lambda: look(a), lambda: look(b)), (a, b), (b, a), strict=True
    ):
        timings[f"{person.name} sees {other.name}, {setting} (after both ready)"] = took
        assert entry(seen, other.user_id) is not None, (
            f"{person.name} did not see {other.name} within {SEE_EACH_OTHER_SECONDS} s of "
            f"both daemons being ready ({setting}; an entry with user_id null means mDNS "
            f"found the peer but no handshake succeeded): {seen}"
        )


def entry(rows: list[dict[str, Any]], user_id: str) -> dict[str, Any] | None:
    return next((r for r in rows if r.get("user_id") == user_id), None)


def message(rows: list[dict[str, Any]], text: str) -> dict[str, Any] | None:
    return next((r for r in rows if r.get("text") == text), None)


def status_of(person: Person, peer: str, text: str) -> str | None:
    found = message(person.history(peer), text)
    return found["status"] if found else None


def safety_digits(output: str) -> str:
    groups = re.findall(r"\b\d{5}\b", output)
    assert len(groups) == 12, f"expected 12 groups of 5 digits, got {len(groups)}:\n{output}"
    return "".join(groups)


@pytest.fixture(scope="module")
def people(lan: Lan) -> dict[str, Person]:
    return {name: Person(lan.add_host(name)) for name in ("alice", "bob", "mallory")}


@pytest.mark.incremental
class TestTwoPeople:
    def test_0_the_virtual_lan_carries_tcp_and_mdns_multicast(
        self, lan: Lan, people: dict[str, Person]
    ) -> None:
        check_lan(lan)

    def test_1_each_creates_an_identity(self, people: dict[str, Person]) -> None:
        alice, bob = people["alice"], people["bob"]
        in_parallel(*(lambda p=p: p.kith("init", "--name", p.name) for p in (alice, bob)))

        for person in (alice, bob):
            me = person.json("whoami")
            assert set(WHOAMI_KEYS) <= me.keys(), me
            assert me["name"] == person.name
            assert re.fullmatch(r"[0-9a-f]{64}", me["user_id"]), me
            person.user_id = me["user_id"]
        assert alice.user_id != bob.user_id

        again = alice.kith("init", "--name", "alice2", check=False)
        assert again.returncode == 1, describe(again)
        assert again.stderr.strip(), describe(again)
        assert alice.json("whoami")["user_id"] == alice.user_id

    def test_2_each_sees_the_other_within_two_seconds(
        self, people: dict[str, Person], timings: dict[str, float]
    ) -> None:
        alice, bob = people["alice"], people["bob"]
        ready = start_all([alice, bob])  # default interfaces: all of the host's
        see_each_other(alice, bob, ready, timings, "default interfaces")
        for person, other in ((alice, bob), (bob, alice)):
            found = entry(person.peers(), other.user_id)
            assert found is not None
            assert {"name", "user_id", "device_id", "addresses", "contact", "key_changed"} <= (
                found.keys()
            ), found
            assert found["name"] == other.name
            assert found["key_changed"] is False
            assert not found["contact"]
            assert any(other.host.ip in a for a in found["addresses"]), found

    def test_3_alice_requests_bob_accepts(self, people: dict[str, Person]) -> None:
        alice, bob = people["alice"], people["bob"]
        alice.kith("add", "bob")
        assert alice.contacts()[bob.user_id]["state"] == "pending_out"

        request = wait_until(
            lambda: bob.contacts().get(alice.user_id),
            DELIVERY_TIMEOUT,
            what="bob to see alice's request",
        )
        assert request["state"] == "pending_in", request
        assert request["name"] == "alice"
        assert request["key_changed"] is False

        bob.kith("accept", "alice")
        for person, other in ((bob, alice), (alice, bob)):
            contact = wait_until(
                lambda p=person, o=other: (
                    c if (c := p.contacts().get(o.user_id, {})).get("state") == "accepted" else None
                ),
                DELIVERY_TIMEOUT,
                what=f"{person.name} to list {other.name} as accepted",
            )
            assert contact["name"] == other.name
            assert contact["verified"] is False
            assert contact["key_changed"] is False

    def test_4_messages_both_ways_with_delivery(self, people: dict[str, Person]) -> None:
        alice, bob = people["alice"], people["bob"]
        hello = "Hello Bob 👋 — how are you?"
        sent = alice.kith("send", "bob", hello, "--wait", str(DELIVERY_TIMEOUT))
        assert sent.returncode == 0, describe(sent)
        assert alice_status(alice, hello) in ("delivered", "read")

        received = message(bob.history("alice"), hello)
        assert received is not None, bob.history("alice")
        assert received["status"] in ("received", "read"), received
        assert received["from"] in ("alice", alice.user_id), received

        reply = "Fine, thanks Alice!"
        sent = bob.kith("send", alice.user_id[:10], reply, "--wait", str(DELIVERY_TIMEOUT))
        assert sent.returncode == 0, describe(sent)
        assert status_of(bob, "alice", reply) in ("delivered", "read")
        got = message(alice.history("bob"), reply)
        assert got is not None and got["status"] in ("received", "read"), alice.history("bob")

    def test_5_same_safety_number_verify_and_sas(self, people: dict[str, Person]) -> None:
        alice, bob = people["alice"], people["bob"]
        alice_says, bob_says = in_parallel(
            lambda: alice.kith("safety-number", "bob").stdout,
            lambda: bob.kith("safety-number", "alice").stdout,
        )
        number = safety_digits(alice_says)
        assert len(number) == 60
        assert safety_digits(bob_says) == number, f"alice:\n{alice_says}\nbob:\n{bob_says}"

        wrong = number[:-1] + str((int(number[-1]) + 1) % 10)
        refused = alice.kith("verify", "bob", wrong, check=False)
        assert refused.returncode == 1, describe(refused)
        assert refused.stderr.strip(), describe(refused)
        assert alice.contacts()[bob.user_id]["verified"] is False

        grouped = " ".join(number[i : i + 5] for i in range(0, 60, 5))
        alice.kith("verify", "bob", grouped)  # as read off the screen, spaces and all
        bob.kith("verify", "alice", number)
        assert alice.contacts()[bob.user_id]["verified"] is True
        assert bob.contacts()[alice.user_id]["verified"] is True

        table = json.loads(SAS_TABLE.read_text())
        emoji = {e["emoji"] for e in table}
        alice_sas, bob_sas = in_parallel(
            lambda: alice.kith("sas", "bob").stdout, lambda: bob.kith("sas", "alice").stdout
        )
        assert alice_sas == bob_sas, f"alice:\n{alice_sas}\nbob:\n{bob_sas}"
        shown = alice_sas.split()
        assert len([s for s in shown if s in emoji]) == 7, alice_sas
        names = {e["description"] for e in table}
        assert any(s in names for s in shown), f"no emoji names in:\n{alice_sas}"

    def test_6_message_to_a_stopped_node_arrives_when_it_is_back(
        self, people: dict[str, Person], timings: dict[str, float]
    ) -> None:
        alice, bob = people["alice"], people["bob"]
        bob.stop()

        queued = "Sent while you were away"
        alice.kith("send", "bob", queued)
        assert alice_status(alice, queued) == "sending"
        waited = "Also sent while you were away"
        timed_out = alice.kith("send", "bob", waited, "--wait", "1", check=False)
        assert timed_out.returncode == 5, describe(timed_out)  # timed out
        assert timed_out.stderr.strip(), describe(timed_out)
        assert alice_status(alice, waited) == "sending"  # still queued

        back = start_all([bob])
        for text in (queued, waited):
            wait_until(
                lambda t=text: alice_status(alice, t) in ("delivered", "read"),
                DELIVERY_TIMEOUT,
                what=f"{text!r} to be delivered after bob came back",
            )
        timings["queued messages delivered (after bob's daemon is ready)"] = time.monotonic() - back
        texts = [m["text"] for m in bob.history("alice")]
        assert texts[-2:] == [queued, waited], texts

    def test_7_restart_keeps_history_contacts_and_trust(
        self, people: dict[str, Person], timings: dict[str, float]
    ) -> None:
        alice, bob = people["alice"], people["bob"]
        both = (alice, bob)

        def states() -> list[dict[str, Any]]:  # (each on their own host, at the same time)
            return in_parallel(*(lambda p=p: state_of(p) for p in both))

        before = dict(zip((p.name for p in both), states(), strict=True))
        in_parallel(alice.stop, bob.stop)

        # No daemon: these commands read the profile through a node of their own.
        for person, state in zip(both, states(), strict=True):
            assert state == before[person.name], f"{person.name} without daemon"

        ready = start_all([alice, bob], interface=True)
        see_each_other(alice, bob, ready, timings, "--interface, after a restart")
        for (person, other), state in zip(((alice, bob), (bob, alice)), states(), strict=True):
            assert state == before[person.name], f"{person.name} after restart"
            contact = person.contacts()[other.user_id]
            assert (contact["state"], contact["verified"]) == ("accepted", True), contact

        for sender, receiver in ((alice, bob), (bob, alice)):
            text = f"{sender.name}: still here after the restart"
            sender.kith("send", receiver.name, text, "--wait", str(DELIVERY_TIMEOUT))
            assert message(receiver.history(sender.name), text) is not None

    def test_8_someone_else_called_bob(self, people: dict[str, Person]) -> None:
        alice, bob, mallory = people["alice"], people["bob"], people["mallory"]
        mallory.kith("init", "--name", "bob")
        mallory.user_id = mallory.json("whoami")["user_id"]
        assert mallory.user_id != bob.user_id
        start_all([mallory], interface=True)

        impostor = wait_until(
            lambda: entry(alice.peers(), mallory.user_id),
            DELIVERY_TIMEOUT,
            what="alice to discover mallory",
        )
        assert impostor["name"] == "bob", impostor
        assert impostor["key_changed"] is True, impostor
        real = entry(alice.peers(), bob.user_id)
        assert real is not None and real["key_changed"] is False, real

        refused = alice.kith("add", mallory.user_id, check=False)
        assert refused.returncode == 4, describe(refused)  # not allowed
        assert "WARNING" in refused.stderr, describe(refused)
        assert "identity key" in refused.stderr.lower(), describe(refused)
        assert mallory.user_id not in alice.contacts()
        assert alice.user_id not in mallory.contacts(), "mallory got a request from alice"

        # Mallory asks alice; alice is warned and cannot accept by accident.
        wait_until(
            lambda: entry(mallory.peers(), alice.user_id),
            DELIVERY_TIMEOUT,
            what="mallory to discover alice",
        )
        mallory.kith("add", "alice")
        request = wait_until(
            lambda: alice.contacts().get(mallory.user_id),
            DELIVERY_TIMEOUT,
            what="alice to receive mallory's request",
        )
        assert request["state"] == "pending_in", request
        assert request["key_changed"] is True, request
        refused = alice.kith("accept", mallory.user_id, check=False)
        assert refused.returncode == 4, describe(refused)  # not allowed
        assert "WARNING" in refused.stderr, describe(refused)
        assert alice.contacts()[mallory.user_id]["state"] == "pending_in"

        # Alice keeps talking to the real bob; nothing reaches mallory.
        # By name, "bob" now means two people: refused as ambiguous, or sent to the contact.
        by_name = "For Bob, by name"
        sent = alice.kith("send", "bob", by_name, "--wait", str(DELIVERY_TIMEOUT), check=False)
        if sent.returncode == 0:
            assert message(bob.history("alice"), by_name) is not None, describe(sent)
        else:
            assert sent.returncode == 1 and bob.user_id[:12] in sent.stderr, describe(sent)
        to_bob = "For the real Bob only"
        sent = alice.kith("send", bob.user_id[:16], to_bob, "--wait", str(DELIVERY_TIMEOUT))
        assert sent.returncode == 0, describe(sent)
        assert message(bob.history("alice"), to_bob) is not None
        alice_seen_by_mallory = mallory.contacts().get(alice.user_id)
        assert alice_seen_by_mallory is not None, "mallory's own request is not listed"
        assert alice_seen_by_mallory["state"] == "pending_out", alice_seen_by_mallory
        bob_contact = alice.contacts()[bob.user_id]
        assert (bob_contact["state"], bob_contact["verified"], bob_contact["key_changed"]) == (
            "accepted",
            True,
            False,
        ), bob_contact

    def test_9_listen_prints_incoming_messages(self, people: dict[str, Person]) -> None:
        alice, bob = people["alice"], people["bob"]
        assert control_clients(bob) == 0
        listener = bob.host.kith_spawn("listen", "--json")
        # `listen` prints nothing until a message comes, so wait for its connection to
        # bob's daemon to be accepted; the daemon subscribes it right after.
        wait_until(lambda: control_clients(bob) == 1, 10, what="`kith listen` to attach")

        text = "Are you listening, Bob?"
        alice.kith("send", bob.user_id[:16], text, "--wait", str(DELIVERY_TIMEOUT))
        heard = wait_until(
            lambda: [json.loads(line) for line in listener.stdout_text().splitlines() if line],
            5,
            what="`kith listen --json` on bob to print alice's message",
        )
        assert len(heard) == 1, listener.report()
        assert {"id", "from", "text", "time", "status"} <= heard[0].keys(), listener.report()
        assert (heard[0]["text"], heard[0]["from"]) == (text, "alice"), listener.report()
        assert heard[0]["status"] in ("received", "read"), listener.report()
        listener.stop()


def control_clients(person: Person) -> int:
    """Connections that the person's daemon has accepted on its control socket."""
    socket_path = str(control_socket_path(person.host.profile))
    result = person.host.run(["ss", "-x", "-H", "state", "connected", "src", socket_path])
    assert result.returncode == 0, describe(result)
    return len(result.stdout.splitlines())


def alice_status(alice: Person, text: str) -> str | None:
    return status_of(alice, "bob", text)


def state_of(person: Person) -> dict[str, Any]:
    """What must survive a restart: identity, contacts with trust, the whole history."""
    me = {k: v for k, v in person.json("whoami").items() if k in WHOAMI_KEYS}
    contacts = {
        uid: {k: v for k, v in c.items() if k in CONTACT_KEYS}
        for uid, c in person.contacts().items()
    }
    history = {
        uid: [(m["id"], m["from"], m["text"], m["status"]) for m in person.history(uid)]
        for uid, c in contacts.items()
        if c["state"] == "accepted"
    }
    return {"whoami": me, "contacts": contacts, "history": history}
