"""A database that fails SQLite's integrity check (hardening #13), through the real `kith`:
not opened, exit 8 with what happened and what to do, a copy kept; `kith check` finds it,
`kith check --repair` rebuilds it from what reads and the profile works again."""

from __future__ import annotations

import json
import os

from clikit import kith, new_profile

from kith.storage import Store, integrity


def _damage(path) -> None:
    size = 4096 if os.path.getsize(path) % 8192 else 8192
    page = os.path.getsize(path) // size - 5
    with path.open("r+b") as f:
        f.seek(page * size + 100)
        f.write(os.urandom(size - 200))
    # (damage comes with a session that did not end: a power cut, a crash)
    path.with_name(path.name + ".open").touch()


async def test_a_damaged_database_is_refused_found_and_repaired(tmp_path) -> None:
    profile = tmp_path / "alice"
    key = new_profile(profile, "alice")
    store = Store(profile / "kith.db", key=key)
    for i in range(400):
        store.set_draft(bytes([i % 256, i // 256]) * 16, "a draft " * 30)
    store.set_setting("name_note", "kept")
    store.close()
    _damage(profile / "kith.db")

    code, _, err = await kith(profile, "contacts")
    assert code == 8, err
    assert "damaged" in err and "kith check --repair" in err and "Traceback" not in err
    assert integrity.copy_path(profile / "kith.db").exists()

    code, _, err = await kith(profile, "check")
    assert code == 8 and "damaged" in err

    code, out, err = await kith(profile, "check", "--repair")
    assert code == 0, err
    assert "repaired" in out

    code, out, err = await kith(profile, "check")
    assert code == 0 and "no damage" in out, err
    code, out, err = await kith(profile, "check", "--json")
    assert code == 0 and json.loads(out) == {"damaged": False, "problems": [], "copy": None}
    code, _, err = await kith(profile, "contacts")
    assert code == 0, err
    store = Store(profile / "kith.db", key=key)
    try:
        assert store.get_setting("name_note") == "kept"
    finally:
        store.close()
