"""A group chat end to end: real `kith` daemons on four hosts of a virtual LAN.

     alice ─┐
     bob   ─┤   alice has the other three as contacts; they are not contacts of each
     carol ─┼─  other. Steps: the group shows up everywhere, messages fan out, carol gets
     dave  ─┘   what she missed from bob alone, dave joins later (without the history),
            carol is removed, bob leaves; with the history on, carol is added again and
            sees what she missed; dave links a second computer (davepc), which gets the
            group and writes in it.
"""

from __future__ import annotations

from typing import Any

import pytest
from netlan import Lan, check_lan, wait_until
from test_two_people import DELIVERY_TIMEOUT, Person, in_parallel, start_all

GROUP = "Board games"


def texts(person: Person, chat: str) -> list[str]:
    return [r["text"] for r in person.json("history", chat) if "kind" not in r]


def group_of(person: Person) -> dict[str, Any] | None:
    return next((g for g in person.json("groups") if g["name"] == GROUP), None)


def wait_texts(person: Person, chat: str, want: list[str], what: str) -> None:
    wait_until(lambda: texts(person, chat) == want or None, DELIVERY_TIMEOUT * 2, what=what)


@pytest.fixture(scope="module")
def people(lan: Lan) -> dict[str, Person]:
    return {name: Person(lan.add_host(name)) for name in ("alice", "bob", "carol", "dave")}


@pytest.mark.incremental
class TestGroupOfFour:
    def test_0_lan_identities_daemons_and_contacts(self, lan: Lan, people) -> None:
        check_lan(lan)
        everyone = list(people.values())
        in_parallel(*(lambda p=p: p.kith("init", "--name", p.name) for p in everyone))
        for p in everyone:
            p.user_id = p.json("whoami")["user_id"]
        start_all(everyone, interface=True)
        alice = people["alice"]
        for other in everyone[1:]:
            wait_until(lambda o=other: any(x.get("user_id") == o.user_id
                                           for x in alice.peers(wait=2)) or None,
                       DELIVERY_TIMEOUT, what=f"alice to see {other.name}")
            alice.kith("add", other.name)
            wait_until(lambda o=other: o.contacts().get(alice.user_id),
                       DELIVERY_TIMEOUT, what=f"{other.name} to get alice's request")
            other.kith("accept", "alice")
            wait_until(lambda o=other: alice.contacts().get(o.user_id, {}).get("state")
                       == "accepted" or None, DELIVERY_TIMEOUT, what="accepted")

    def test_1_alice_creates_the_group_and_it_shows_up_everywhere(self, people) -> None:
        alice, bob, carol = people["alice"], people["bob"], people["carol"]
        created = alice.json("group", "create", GROUP, "bob", "carol")
        assert created["name"] == GROUP
        for p in (bob, carol):
            g = wait_until(lambda p=p: group_of(p), DELIVERY_TIMEOUT, what=f"{p.name}'s group")
            assert g["id"] == created["id"] and g["role"] == "member"
            assert sorted(m["name"] for m in g["members"]) == ["alice", "bob", "carol"]

    def test_2_everyone_writes_and_everyone_gets_it(self, people) -> None:
        alice, bob, carol = people["alice"], people["bob"], people["carol"]
        sent = alice.json("send", GROUP, "Saturday?", "--wait", str(DELIVERY_TIMEOUT))
        assert sent["delivered"], sent
        bob.kith("send", GROUP, "yes")
        for p in (alice, bob, carol):
            wait_texts(p, GROUP, ["Saturday?", "yes"], f"{p.name} to have both")
        [yes] = [r for r in carol.json("history", GROUP) if r.get("text") == "yes"]
        assert yes["from_user"] == bob.user_id and yes["from"] == "bob"

    def test_3_carol_gets_what_she_missed_from_bob_alone(self, people) -> None:
        alice, bob, carol = people["alice"], people["bob"], people["carol"]
        carol.stop()
        alice.kith("send", GROUP, "while carol was out")
        wait_texts(bob, GROUP, ["Saturday?", "yes", "while carol was out"], "bob has it")
        alice.stop()
        carol.start(interface=True)
        carol.wait_ready()
        wait_texts(carol, GROUP, ["Saturday?", "yes", "while carol was out"],
                   "carol to get it from bob")
        alice.start(interface=True)
        alice.wait_ready()

    def test_4_dave_joins_later_without_the_history(self, people) -> None:
        alice, dave = people["alice"], people["dave"]
        alice.kith("group", "add", GROUP, "dave")
        wait_until(lambda: group_of(dave), DELIVERY_TIMEOUT, what="dave's group")
        alice.kith("send", GROUP, "welcome dave")
        wait_texts(dave, GROUP, ["welcome dave"], "dave to see only what came after")
        lines = [r["text"] for r in dave.json("history", GROUP) if "kind" in r]
        assert "alice added you" in lines, lines

    def test_5_carol_is_removed_and_bob_leaves(self, people) -> None:
        alice, bob, carol, dave = (people[n] for n in ("alice", "bob", "carol", "dave"))
        alice.kith("group", "remove", GROUP, "carol")
        g = wait_until(lambda: (x if (x := group_of(carol)) and x["left"] else None),
                       DELIVERY_TIMEOUT, what="carol to learn she was removed")
        assert g["role"] == "none"
        lines = [r["text"] for r in carol.json("history", GROUP) if "kind" in r]
        assert "You were removed from the group by alice" in lines, lines
        refused = carol.kith("send", GROUP, "hello?", check=False)
        assert refused.returncode == 4 and "removed" in refused.stderr
        bob.kith("group", "leave", GROUP)
        for p in (alice, dave):
            wait_until(lambda p=p: sorted(m["name"] for m in group_of(p)["members"])
                       == ["alice", "dave"] or None, DELIVERY_TIMEOUT,
                       what=f"{p.name} to see bob leave")
        alice.kith("send", GROUP, "just us")
        wait_texts(dave, GROUP, ["welcome dave", "just us"], "dave gets it")
        assert "just us" not in texts(carol, GROUP) and "just us" not in texts(bob, GROUP)

    def test_6_with_history_on_carol_added_again_sees_what_she_missed(self, people) -> None:
        alice, carol = people["alice"], people["carol"]
        alice.kith("group", "history-for-new-members", GROUP, "on")
        alice.kith("group", "add", GROUP, "carol")
        wait_until(lambda: (x if (x := group_of(carol)) and not x["left"] else None),
                   DELIVERY_TIMEOUT, what="carol to be back in")
        wait_until(lambda: "just us" in texts(carol, GROUP) or None, DELIVERY_TIMEOUT * 2,
                   what="carol to see what was written while she was out")
        carol.kith("send", GROUP, "back again")
        wait_until(lambda: "back again" in texts(alice, GROUP) or None, DELIVERY_TIMEOUT,
                   what="alice to get carol's message")

    def test_7_a_second_device_of_dave_gets_the_group_and_writes_in_it(
        self, lan: Lan, people
    ) -> None:
        alice, dave = people["alice"], people["dave"]
        pc = Person(lan.add_host("davepc"))
        people["davepc"] = pc
        link = pc.host.kith_spawn("link", "--name", "davepc", "--timeout", "60")
        code = link.wait_for_line(r".", 15).strip()
        dave.kith("devices", "add", code)
        link.wait_for_line(r"^synced$", 60)
        assert link.wait(10) == 0, link.report()
        pc.start(interface=True)
        pc.wait_ready()
        g = wait_until(lambda: group_of(pc), DELIVERY_TIMEOUT, what="davepc to have the group")
        assert g["role"] == "member"
        wait_until(lambda: "just us" in texts(pc, GROUP) or None, DELIVERY_TIMEOUT,
                   what="davepc to have dave's messages")
        pc.kith("send", GROUP, "from dave's other computer")
        wait_until(lambda: "from dave's other computer" in texts(alice, GROUP) or None,
                   DELIVERY_TIMEOUT, what="alice to get it")
        wait_until(lambda: "from dave's other computer" in texts(dave, GROUP) or None,
                   DELIVERY_TIMEOUT, what="dave's first computer to get it too")
        for p in people.values():
            p.stop()
