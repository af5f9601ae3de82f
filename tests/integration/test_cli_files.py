"""`kith send --file`, `files`, `fetch`, `transfers`, `pause`, `resume`, `cancel` and the
`files` of `history --json`: the contract of issue 11, through the control sockets of two
running nodes on loopback."""

from __future__ import annotations

import json
from pathlib import Path

from clikit import kith_in_process, pair_fixture  # noqa: F401 (the fixture `pair`)

from kith.p2p.files.protocol import BlockRequest

KEYS = {"id", "message", "name", "size", "mime", "state", "have"}


def _read(path: str | Path) -> bytes:
    return Path(path).read_bytes()


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


async def test_send_files_history_and_files_listing(pair, tmp_path, capsys):
    alice, bob = pair
    a, b = str(alice.profile), str(bob.profile)
    one = _write(tmp_path / "one.txt", b"hello file\n" * 100)
    two = _write(tmp_path / "two.bin", bytes(range(256)) * 2000)
    code, out, err = await kith_in_process(
        capsys, "--profile", a, "send", "bob", "look", "--file", str(one), "--file", str(two),
        "--wait", "20", "--json",
    )
    assert code == 0, err
    sent = json.loads(out)
    assert sent["delivered"] is True and sent["files_received"] is True
    assert [f["name"] for f in sent["files"]] == ["one.txt", "two.bin"]

    code, out, err = await kith_in_process(capsys, "--profile", b, "files", "alice", "--json")
    assert code == 0, err
    files = json.loads(out)
    assert [f["name"] for f in files] == ["one.txt", "two.bin"]
    for f in files:
        assert set(f) >= KEYS | {"path"} and f["state"] == "complete"
        assert f["have"] == f["size"] and f["message"] == sent["id"]
    assert files[0]["mime"] == "text/plain"
    assert _read(files[1]["path"]) == _read(two)

    code, out, err = await kith_in_process(capsys, "--profile", b, "history", "alice", "--json")
    assert code == 0, err
    [m] = json.loads(out)
    assert m["text"] == "look" and [f["id"] for f in m["files"]] == [f["id"] for f in files]

    code, out, err = await kith_in_process(capsys, "--profile", b, "files", "alice")
    assert code == 0, err
    assert "one.txt" in out and "complete" in out and files[0]["id"][:12] in out


async def test_fetch_pause_resume_cancel_and_transfers(pair, tmp_path, capsys):
    alice, bob = pair
    a, b = str(alice.profile), str(bob.profile)
    bob.set_setting("auto_download", 1000)
    big = _write(tmp_path / "big.bin", bytes(range(256)) * 8000)  # 2 MB: not by itself
    code, out, err = await kith_in_process(capsys, "--profile", a, "send", "bob", "--file",
                                           str(big), "--json")
    assert code == 0, err
    code, out, err = await kith_in_process(capsys, "--profile", b, "files", "alice", "--json")
    [f] = json.loads(out)
    assert f["state"] == "remote" and f["have"] == 0 and "path" not in f
    fid = f["id"][:10]

    # alice holds bob's block requests back while he pauses, cancels and resumes (else
    # the 2 MB could be complete before the pause, on a quick machine)
    held: list = []
    real = alice.files.on_request
    alice.net.handlers[BlockRequest] = lambda peer, r: held.append((peer, r))
    for cmd, state in (("pause", "paused"), ("cancel", "remote"), ("resume", "downloading")):
        if cmd == "pause":
            bob.files.start(bytes.fromhex(f["id"]))
        code, out, err = await kith_in_process(capsys, "--profile", b, cmd, fid, "--json")
        assert code == 0, (cmd, err)
        assert json.loads(out)["state"] == state, cmd
    alice.net.handlers[BlockRequest] = real
    for peer, r in held:
        real(peer, r)

    code, out, err = await kith_in_process(capsys, "--profile", b, "transfers", "--json")
    assert code == 0, err
    assert isinstance(json.loads(out), list)

    code, out, err = await kith_in_process(capsys, "--profile", b, "fetch", fid, "--wait", "20",
                                           "--json")
    assert code == 0, err
    got = json.loads(out)
    assert got["state"] == "complete" and _read(got["path"]) == _read(big)

    code, out, err = await kith_in_process(capsys, "--profile", b, "pause", fid)
    assert code == 1 and "complete" in err
    code, out, err = await kith_in_process(capsys, "--profile", b, "fetch", "ffffffffffff")
    assert code == 3 and "no file" in err
    code, out, err = await kith_in_process(capsys, "--profile", b, "fetch", "../x")
    assert code == 3 and "hex" in err


async def test_send_refuses_what_it_cannot_send(pair, tmp_path, capsys):
    alice, _ = pair
    a = str(alice.profile)
    code, out, err = await kith_in_process(capsys, "--profile", a, "send", "bob", "--file",
                                           str(tmp_path / "nope"))
    assert code == 1 and "is not a file" in err
    code, out, err = await kith_in_process(capsys, "--profile", a, "send", "bob")
    assert code == 2 and "text" in err


async def test_the_auto_download_limit_is_a_setting(pair, capsys):
    _, bob = pair
    b = str(bob.profile)
    code, out, err = await kith_in_process(capsys, "--profile", b, "config", "get",
                                           "auto-download")
    assert code == 0 and out.strip() == "25000000", err
    code, out, err = await kith_in_process(capsys, "--profile", b, "config", "set",
                                           "auto-download", "1.5MB")
    assert code == 0 and out.strip() == "1500000", err
    assert bob.files.auto_limit == 1_500_000
    code, out, err = await kith_in_process(capsys, "--profile", b, "config", "set",
                                           "auto-download", "off")
    assert code == 0 and bob.files.auto_limit == 0
    code, out, err = await kith_in_process(capsys, "--profile", b, "config", "set",
                                           "auto-download", "lots")
    assert code == 2 and "not a size" in err


async def test_a_video_lists_its_duration_and_its_sending_pauses(pair, tmp_path, capsys):
    from mediakit import make_video

    alice, bob = pair
    a, b = str(alice.profile), str(bob.profile)
    clip = make_video(tmp_path / "clip.mp4", width=80, height=60, seconds=2)
    code, out, err = await kith_in_process(capsys, "--profile", a, "send", "bob", "--file",
                                           str(clip), "--wait", "20", "--json")
    assert code == 0, err
    code, out, err = await kith_in_process(capsys, "--profile", b, "files", "alice", "--json")
    [f] = json.loads(out)
    assert f["mime"] == "video/mp4" and f["video"] is True
    assert (f["width"], f["height"]) == (80, 60) and abs(f["duration"] - 2.0) <= 0.1
    code, out, err = await kith_in_process(capsys, "--profile", b, "history", "alice", "--json")
    [m] = json.loads(out)
    assert abs(m["files"][0]["duration"] - 2.0) <= 0.1
    code, out, err = await kith_in_process(capsys, "--profile", b, "files", "alice")
    assert "(video/mp4, 0:02," in out

    # The sender pauses the file it sent: listed as a paused outgoing transfer.
    code, out, err = await kith_in_process(capsys, "--profile", a, "pause", f["id"][:10],
                                           "--json")
    assert code == 0, err
    got = json.loads(out)
    assert got["state"] == "complete" and got["sending"] == "paused"
    code, out, err = await kith_in_process(capsys, "--profile", a, "transfers", "--json")
    assert [(t["direction"], t["state"]) for t in json.loads(out)
            if t["id"] == f["id"]] == [("out", "paused")]
    code, out, err = await kith_in_process(capsys, "--profile", a, "files", "bob")
    assert "sending paused" in out
    code, out, err = await kith_in_process(capsys, "--profile", a, "resume", f["id"][:10],
                                           "--json")
    assert code == 0 and "sending" not in json.loads(out), err
