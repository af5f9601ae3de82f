"""My devices, end to end: Alice links a second device; real `kith` processes on three hosts.

The class below follows the issue, one test per step, run in order on one virtual LAN;
after a failed step the later ones are skipped ("incremental").

     alicelaptop  10.99.k.11 ─┐   alice's first device (runs `kith daemon`)
     alicedesktop 10.99.k.12 ─┼─ bridge   a fresh profile: `kith link`, then a daemon
     bob          10.99.k.13 ─┘   alice's contact

Story: alice (laptop) and bob talk; the desktop shows a code, a wrong code fails on
both sides, the right one links it and it fetches the history; from then on the two
devices stay in sync and bob sees one alice; a message bob sends while only the desktop
is on reaches the laptop through the desktop; finally the laptop removes the desktop,
which learns it, is refused by everyone and stops receiving. On the way, the chat open
on the laptop is offered on the desktop with its draft (handoff, `kith open` / `kith
handoff`).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest
from netlan import Host, Lan, Spawned, describe, wait_until

T = TypeVar("T")

READY_LINE = r"^kith daemon ready"
STARTUP_TIMEOUT = 20.0
DELIVERY_TIMEOUT = 15.0
CODE = re.compile(r"\d{3}-\d{3}-\d{3}")
DEVICE_KEYS = {"device_id", "name", "this_device", "last_seen", "removed"}


@dataclass
class Device:
    """One host running Kith: its profile, and its daemon while it runs."""

    host: Host
    daemon: Spawned | None = None

    @property
    def name(self) -> str:
        return self.host.name

    def kith(self, *args: str, check: bool = True, timeout: float = 30) -> Any:
        return self.host.kith(*args, check=check, timeout=timeout)

    def json(self, *args: str) -> Any:
        return self.host.kith_json(*args)

    def start(self) -> Spawned:
        assert self.daemon is None, f"{self.name}'s daemon already runs"
        self.daemon = self.host.kith_spawn("daemon")
        return self.daemon

    def stop(self) -> None:
        assert self.daemon is not None
        daemon, self.daemon = self.daemon, None
        code = daemon.stop()
        assert code == 0, f"{self.name}'s daemon did not shut down cleanly:\n{daemon.report()}"

    def history(self, peer: str) -> list[dict[str, Any]]:
        return list(self.json("history", peer, "--limit", "500"))

    def contacts(self) -> dict[str, dict[str, Any]]:
        return {c["user_id"]: c for c in self.json("contacts")}

    def devices(self) -> list[dict[str, Any]]:
        return list(self.json("devices"))


def in_parallel(*calls: Callable[[], T]) -> list[T]:
    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return [f.result() for f in [pool.submit(c) for c in calls]]


def start_all(*devices: Device) -> None:
    for d in devices:
        d.start()
    in_parallel(*(lambda d=d: d.daemon.wait_for_line(READY_LINE, STARTUP_TIMEOUT) for d in devices))


def by_text(rows: list[dict[str, Any]], text: str) -> dict[str, Any] | None:
    return next((r for r in rows if r["text"] == text), None)


def has_message(device: Device, peer: str, text: str, status: str | None = None) -> bool:
    row = by_text(device.history(peer), text)
    return row is not None and (status is None or row["status"] == status)


def safety_digits(output: str) -> str:
    return "".join(re.findall(r"\b\d{5}\b", output))


def wrong_code_for(code: str) -> str:
    """Another code with the same public hint (so the laptop finds the same device)."""
    last = str((int(code[-1]) + 1) % 10)
    return code[:-1] + last


@pytest.fixture(scope="module")
def alice_laptop(lan: Lan) -> Device:
    return Device(lan.add_host("alicelaptop"))


@pytest.fixture(scope="module")
def alice_desktop(lan: Lan) -> Device:
    return Device(lan.add_host("alicedesktop"))


@pytest.fixture(scope="module")
def bob(lan: Lan) -> Device:
    return Device(lan.add_host("bob"))


@pytest.fixture(scope="module")
def story() -> dict[str, Any]:
    """What the steps learn and later steps check (ids, the link process, numbers)."""
    return {}


@pytest.mark.incremental
class TestMyDevices:
    def test_0_alice_and_bob_talk_on_alices_laptop(
        self, alice_laptop: Device, alice_desktop: Device, bob: Device, story: dict[str, Any]
    ) -> None:
        laptop = alice_laptop
        in_parallel(
            lambda: laptop.kith("init", "--name", "alice", "--device-name", "laptop"),
            lambda: bob.kith("init", "--name", "bob"),
        )
        story["alice"], story["bob"] = (me["user_id"] for me in in_parallel(
            lambda: laptop.json("whoami"), lambda: bob.json("whoami")))
        start_all(laptop, bob)
        wait_until(
            lambda: any(p["user_id"] == story["bob"] for p in laptop.json("peers")),
            DELIVERY_TIMEOUT, what="the laptop to see bob",
        )
        laptop.kith("add", "bob")
        wait_until(lambda: story["alice"] in bob.contacts(), DELIVERY_TIMEOUT,
                   what="bob to get alice's request")
        bob.kith("accept", "alice")
        wait_until(lambda: laptop.contacts()[story["bob"]]["state"] == "accepted",
                   DELIVERY_TIMEOUT, what="the laptop to see bob's accept")
        for i in range(3):
            laptop.kith("send", "bob", f"laptop {i}", "--wait", str(DELIVERY_TIMEOUT))
            bob.kith("send", "alice", f"bob {i}", "--wait", str(DELIVERY_TIMEOUT))
        bob.kith("read", "alice")  # bob has read alice's messages: "read" on her side
        wait_until(lambda: has_message(laptop, "bob", "laptop 2", "read"), DELIVERY_TIMEOUT,
                   what="bob's read receipt on the laptop")
        story["safety"] = safety_digits(bob.kith("safety-number", "alice").stdout)
        assert len(story["safety"]) == 60

    def test_1_a_fresh_profile_prints_its_code_first(
        self, alice_desktop: Device, story: dict[str, Any]
    ) -> None:
        link = alice_desktop.host.kith_spawn("link", "--name", "desktop", "--timeout", "60")
        story["link"] = link
        first = link.wait_for_line(r".", 15)
        assert CODE.fullmatch(first.strip()), f"first stdout line is not a code:\n{link.report()}"
        assert link.stdout_text().splitlines()[0] == first
        story["code"] = first.strip()
        wait_until(lambda: "kith devices add" in link.stderr_text(), 5, what="the hint on stderr")

    def test_2_a_wrong_code_fails_on_both_sides_then_the_right_one_links(
        self, alice_laptop: Device, story: dict[str, Any]
    ) -> None:
        link: Spawned = story["link"]
        wrong = alice_laptop.kith("devices", "add", wrong_code_for(story["code"]), check=False)
        assert wrong.returncode == 1, describe(wrong)
        assert "wrong code" in wrong.stderr, describe(wrong)
        wait_until(lambda: "wrong code" in link.stderr_text(), 5,
                   what="`kith link` to report the wrong code")
        told = link.stderr_text()
        assert "kith: a wrong code was entered on the other device" in told, link.report()
        assert "2 tries left" in told, link.report()
        assert link.poll() is None, link.report()  # a wrong code is not the end
        assert [d["name"] for d in alice_laptop.devices()] == ["laptop"]

        added = alice_laptop.kith("devices", "add", story["code"])
        assert added.stdout.startswith("linked desktop"), describe(added)
        wait_until(lambda: "linked:" in link.stdout_text(), 10, what="`kith link` to say linked")

    def test_3_the_new_device_gets_the_whole_history_with_progress(
        self, alice_laptop: Device, alice_desktop: Device, story: dict[str, Any]
    ) -> None:
        link: Spawned = story["link"]
        link.wait_for_line(r"^synced$", 30)
        assert link.wait(10) == 0, link.report()
        progress = re.findall(r"history (\d+)/(\d+) events", link.stderr_text())
        assert progress, link.report()
        done, total = progress[-1]
        assert done == total and int(total) > 0, link.report()

        desktop = alice_desktop
        me = desktop.json("whoami")
        assert me["user_id"] == story["alice"] and me["name"] == "alice", me
        start_all(desktop)
        want = [(m["id"], m["from"], m["text"], m["status"]) for m in alice_laptop.history("bob")]
        got = [(m["id"], m["from"], m["text"], m["status"]) for m in desktop.history("bob")]
        assert got == want
        assert [t for _, _, t, _ in got] == [
            "laptop 0", "bob 0", "laptop 1", "bob 1", "laptop 2", "bob 2"
        ]
        bob_contact = desktop.contacts()[story["bob"]]
        assert (bob_contact["name"], bob_contact["state"]) == ("bob", "accepted"), bob_contact

    def test_4_both_devices_stay_in_sync_both_ways(
        self, alice_laptop: Device, alice_desktop: Device, bob: Device, story: dict[str, Any]
    ) -> None:
        laptop, desktop = alice_laptop, alice_desktop
        # A message sent on either device shows in both histories, as alice's.
        for sender, other in ((desktop, laptop), (laptop, desktop)):
            text = f"sent on {sender.name}"
            sender.kith("send", "bob", text, "--wait", str(DELIVERY_TIMEOUT))
            wait_until(lambda t=text, o=other: has_message(o, "bob", t), DELIVERY_TIMEOUT,
                       what=f"{text!r} in {other.name}'s history")
            assert by_text(bob.history("alice"), text)["from"] == "alice"
        # Delivery and read state: bob reads on his side, both alice devices show it.
        bob.kith("read", "alice")
        for device in (laptop, desktop):
            wait_until(lambda d=device: has_message(d, "bob", "sent on alicelaptop", "read"),
                       DELIVERY_TIMEOUT, what=f"read state on {device.name}")
        # Bob writes: both devices get it; reading it on the desktop marks it read on
        # the laptop too, and bob sees it read.
        bob.kith("send", "alice", "hello both", "--wait", str(DELIVERY_TIMEOUT))
        for device in (laptop, desktop):
            wait_until(lambda d=device: has_message(d, "bob", "hello both"), DELIVERY_TIMEOUT,
                       what=f"bob's message on {device.name}")
        desktop.kith("read", "bob")
        wait_until(lambda: has_message(laptop, "bob", "hello both", "read"), DELIVERY_TIMEOUT,
                   what="the desktop's read state on the laptop")
        wait_until(lambda: has_message(bob, "alice", "hello both", "read"), DELIVERY_TIMEOUT,
                   what="bob to see his message read")
        # A verification mark made on the desktop reaches the laptop.
        assert laptop.contacts()[story["bob"]]["verified"] is False
        desktop.kith("verify", "bob", story["safety"])
        wait_until(lambda: laptop.contacts()[story["bob"]]["verified"] is True,
                   DELIVERY_TIMEOUT, what="the verification mark on the laptop")

    def test_5_bob_sees_one_alice(
        self, alice_laptop: Device, alice_desktop: Device, bob: Device, story: dict[str, Any]
    ) -> None:
        contacts = bob.json("contacts")
        assert [(c["name"], c["user_id"]) for c in contacts] == [("alice", story["alice"])]
        # `kith peers`: one row for alice, listing both of her devices.
        both = {d.json("whoami")["device_id"] for d in (alice_laptop, alice_desktop)}

        def alices() -> list[dict[str, Any]]:
            return [p for p in bob.json("peers") if p["user_id"] == story["alice"]]

        wait_until(lambda: [set(p["devices"]) for p in alices()] == [both], DELIVERY_TIMEOUT,
                   what="bob's peers to list alice once, with both devices")
        [row] = alices()
        assert row["name"] == "alice" and row["device_id"] in both, row
        assert safety_digits(bob.kith("safety-number", "alice").stdout) == story["safety"]
        assert safety_digits(alice_desktop.kith("safety-number", "bob").stdout) == story["safety"]

        # Only the laptop is on: bob's message reaches it; the desktop gets it when back.
        alice_desktop.stop()
        bob.kith("send", "alice", "laptop only", "--wait", str(DELIVERY_TIMEOUT))
        assert has_message(alice_laptop, "bob", "laptop only")
        start_all(alice_desktop)
        wait_until(lambda: has_message(alice_desktop, "bob", "laptop only"), DELIVERY_TIMEOUT,
                   what="the desktop to catch up")

    def test_6_the_desktop_relays_bobs_message_to_the_laptop(
        self, alice_laptop: Device, alice_desktop: Device, bob: Device, timings: dict[str, float]
    ) -> None:
        alice_laptop.stop()
        bob.kith("send", "alice", "desktop only", "--wait", str(DELIVERY_TIMEOUT))
        assert has_message(alice_desktop, "bob", "desktop only")
        bob.stop()
        start_all(alice_laptop)
        back = time.monotonic()
        wait_until(lambda: has_message(alice_laptop, "bob", "desktop only"), DELIVERY_TIMEOUT,
                   what="the laptop to get bob's message from the desktop")
        timings["relayed message on the laptop (after its daemon is ready)"] = (
            time.monotonic() - back
        )
        row = by_text(alice_laptop.history("bob"), "desktop only")
        assert row is not None and row["from"] == "bob", row
        start_all(bob)

    def test_7_devices_lists_both(
        self, alice_laptop: Device, alice_desktop: Device
    ) -> None:
        for device, this in ((alice_laptop, "laptop"), (alice_desktop, "desktop")):
            listed = device.devices()
            assert all(DEVICE_KEYS <= d.keys() for d in listed), listed
            assert sorted(d["name"] for d in listed) == ["desktop", "laptop"], listed
            [me] = [d for d in listed if d["this_device"]]
            assert me["name"] == this and me["removed"] is False, listed
            assert all(d["removed"] is False for d in listed), listed
            assert all(isinstance(d["last_seen"], int | float) for d in listed), listed
        ids = {d["device_id"] for d in alice_laptop.devices()}
        assert ids == {d["device_id"] for d in alice_desktop.devices()}
        assert all(re.fullmatch(r"[0-9a-f]{64}", i) for i in ids), ids

    def test_7b_handoff_offers_the_chat_open_on_the_laptop_on_the_desktop(
        self, alice_laptop: Device, alice_desktop: Device, bob: Device
    ) -> None:
        opened = alice_laptop.kith("open", "bob", "--draft", "see you at sev")
        assert "bob" in opened.stdout, describe(opened)
        offers = wait_until(lambda: alice_desktop.json("handoff"), DELIVERY_TIMEOUT,
                            what="the desktop to offer the laptop's open chat")
        assert [(o["peer"], o["device"], o["draft"]) for o in offers] == [
            ("bob", "laptop", "see you at sev")
        ], offers
        assert bob.json("handoff") == []  # between alice's own devices only
        # The desktop picks it up: the finished message goes out from there.
        alice_desktop.kith("send", "bob", offers[0]["draft"] + "en", "--wait",
                           str(DELIVERY_TIMEOUT))
        wait_until(lambda: has_message(bob, "alice", "see you at seven"), DELIVERY_TIMEOUT,
                   what="bob to get the message finished on the desktop")
        alice_laptop.kith("open")  # the laptop closes the chat: the offer goes away
        wait_until(lambda: alice_desktop.json("handoff") == [], DELIVERY_TIMEOUT,
                   what="the offer to go away")

    def test_8_a_removed_device_is_refused_told_and_stops_receiving(
        self, alice_laptop: Device, alice_desktop: Device, bob: Device, story: dict[str, Any]
    ) -> None:
        laptop, desktop = alice_laptop, alice_desktop
        bob.kith("send", "alice", "unread on both", "--wait", str(DELIVERY_TIMEOUT))
        wait_until(lambda: has_message(desktop, "bob", "unread on both", "received"),
                   DELIVERY_TIMEOUT, what="bob's message on the desktop")
        desktop.stop()

        removed = laptop.kith("devices", "remove", "desktop")
        assert removed.stdout.startswith("removed desktop"), describe(removed)
        [gone] = [d for d in laptop.devices() if d["name"] == "desktop"]
        assert gone["removed"] is True

        # Offline, the desktop does not know yet; it writes a new event (a read receipt).
        assert not any(d["removed"] for d in desktop.devices() if d["this_device"])
        desktop.kith("read", "bob")
        assert has_message(desktop, "bob", "unread on both", "read")

        # Back on the network, it is refused and told, and its daemon says so.
        daemon = desktop.start()
        daemon.wait_for_line(READY_LINE, STARTUP_TIMEOUT)
        wait_until(lambda: "this device was removed" in daemon.stderr_text(), DELIVERY_TIMEOUT,
                   what="the desktop's daemon to say it was removed")
        wait_until(lambda: "link it anew" in daemon.stderr_text(), 5,
                   what="the desktop's daemon to say what to do")
        [me] = [d for d in desktop.devices() if d["this_device"]]
        assert me["removed"] is True, desktop.devices()
        refused = desktop.kith("send", "bob", "after removal", check=False)
        assert refused.returncode == 4, describe(refused)  # not allowed
        assert "removed" in refused.stderr, describe(refused)

        # Its new event was refused by the laptop and by bob: nobody saw that read.
        assert has_message(laptop, "bob", "unread on both", "received")
        assert has_message(bob, "alice", "unread on both", "delivered")

        # It stops receiving: bob's next message reaches the laptop only.
        bob.kith("send", "alice", "after the desktop left", "--wait", str(DELIVERY_TIMEOUT))
        assert has_message(laptop, "bob", "after the desktop left")
        assert not [p for p in desktop.json("peers") if p.get("connected")]
        assert not has_message(desktop, "bob", "after the desktop left")
        texts = [m["text"] for m in bob.history("alice")]
        assert "after removal" not in texts, texts
