"""Set-ups the e2e tests share, on the virtual LAN of netlan.py."""

from __future__ import annotations

from dataclasses import dataclass

from netlan import Host, Spawned, wait_until

READY_LINE = r"^kith daemon ready"


@dataclass
class Started:
    """A host's person: their user id (hex) and their running daemon."""

    user_id: str
    daemon: Spawned


def contacts_with_daemons(alice: Host, bob: Host, timeout: float) -> tuple[Started, Started]:
    """Two new profiles (named after their hosts), each with its daemon (``-vv``: the log
    is in the LAN's report if a step fails); alice finds bob nearby and asks, bob accepts,
    and both see it. ``timeout`` bounds each wait."""
    ids = {}
    for h in (alice, bob):
        h.kith("init", "--name", h.name)
        ids[h.name] = h.kith_json("whoami")["user_id"]
    daemons = {h.name: h.spawn(h.kith_argv("-vv", "daemon"), label="kith daemon")
               for h in (alice, bob)}
    for d in daemons.values():
        d.wait_for_line(READY_LINE, timeout)
    wait_until(lambda: any(p.get("user_id") == ids[bob.name] for p in alice.kith_json(
        "peers", "--wait", "2")), timeout, what=f"{alice.name} to see {bob.name}")
    alice.kith("add", bob.name)
    wait_until(lambda: any(c["state"] == "pending_in" for c in bob.kith_json("contacts")),
               timeout, what=f"{bob.name} to get the request")
    bob.kith("accept", alice.name)
    wait_until(lambda: any(c["state"] == "accepted" for c in alice.kith_json("contacts")),
               timeout, what=f"{alice.name} to see {bob.name} accept")
    return (Started(ids[alice.name], daemons[alice.name]),
            Started(ids[bob.name], daemons[bob.name]))
