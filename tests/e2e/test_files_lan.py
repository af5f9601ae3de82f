"""Files between two people on a virtual LAN (netlan.py): real `kith` daemons on two
hosts, the CLI contract of issue 11 (`send --file --wait`, `files`, `fetch --wait`,
`history --json`), checked byte for byte.

     alice 10.99.k.11 ─┬─ bridge
     bob   10.99.k.12 ─┘
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
from lankit import contacts_with_daemons
from netlan import Host, Lan, describe, wait_until

TIMEOUT = 30.0
SMALL = 3 * 1000 * 1000  # downloads by itself (at most 25 MB from a contact)
LARGE = 40 * 1000 * 1000  # waits for `kith fetch`


def _data(path: Path, size: int, seed: int) -> Path:
    path.write_bytes(random.Random(seed).randbytes(size))
    return path


@pytest.fixture(scope="module")
def hosts(lan: Lan) -> dict[str, Host]:
    return {name: lan.add_host(name) for name in ("alice", "bob")}


@pytest.mark.incremental
class TestFilesOnTheLan:
    def test_0_two_contacts_with_daemons(self, hosts: dict[str, Host]) -> None:
        contacts_with_daemons(hosts["alice"], hosts["bob"], TIMEOUT)

    def test_1_a_small_file_arrives_by_itself(self, hosts: dict[str, Host]) -> None:
        alice, bob = hosts["alice"], hosts["bob"]
        src = _data(alice.workdir / "small.bin", SMALL, 1)
        sent = alice.kith("send", "bob", "small one", "--file", str(src), "--wait",
                          str(TIMEOUT), "--json", check=False, timeout=TIMEOUT + 20)
        assert sent.returncode == 0, describe(sent)
        [f] = bob.kith_json("files", "alice")
        assert f["state"] == "complete" and f["size"] == SMALL and f["name"] == "small.bin"
        assert Path(f["path"]).read_bytes() == src.read_bytes()
        [m] = [m for m in bob.kith_json("history", "alice") if m["text"] == "small one"]
        assert [x["id"] for x in m["files"]] == [f["id"]]

    def test_2_a_large_file_waits_for_fetch(self, hosts: dict[str, Host]) -> None:
        alice, bob = hosts["alice"], hosts["bob"]
        src = _data(alice.workdir / "large.bin", LARGE, 2)
        sent = alice.kith("send", "bob", "--file", str(src), "--json")
        assert sent.returncode == 0, describe(sent)

        def remote() -> dict[str, Any] | None:
            files = [f for f in bob.kith_json("files", "alice") if f["name"] == "large.bin"]
            return files[0] if files else None

        f = wait_until(remote, TIMEOUT, what="bob to get the message with the large file")
        assert f["state"] == "remote" and f["have"] == 0
        got = bob.kith_json("fetch", f["id"][:16], "--wait", str(TIMEOUT * 2),
                            timeout=TIMEOUT * 2 + 20)
        assert got["state"] == "complete", got
        assert Path(got["path"]).read_bytes() == src.read_bytes()
