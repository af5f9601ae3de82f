"""kith peers says why a peer cannot be talked to (another protocol version)."""

from __future__ import annotations

from kith.app.cli_output import peer_line


def _peer(**changes: object) -> dict[str, object]:
    base: dict[str, object] = {
        "name": "bob", "user_id": "ab" * 32, "device_id": "cd" * 32, "devices": ["cd" * 32],
        "addresses": ["10.0.0.2:4000"], "contact": None, "key_changed": False,
        "connected": False, "problem": None,
    }
    base.update(changes)
    return base


def test_a_peer_of_another_version_says_what_to_do() -> None:
    line = peer_line(_peer(problem="bob runs an older version of Kith: ask them to update"))
    assert line.endswith("-- bob runs an older version of Kith: ask them to update")
    assert "--" not in peer_line(_peer())


def test_the_problem_cannot_forge_a_line() -> None:
    line = peer_line(_peer(problem="old\n\x1b[31mfake line"))
    assert "\n" not in line and "\x1b" not in line
