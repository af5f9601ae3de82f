"""Contacts, devices and their revocations, last-writer-wins clocks, remembered peers."""

from __future__ import annotations

import time
from typing import Any

from kith.storage.base import StoreBase
from kith.storage.rows import ContactRow, DeviceRow, PeerRow, contact_from_row, device_from_row

_DEVICE_SELECT = (
    "SELECT device_id, user_id, name, created, cert, revoked, last_seen, proven FROM devices "
)


class PeoplePart(StoreBase):
    """Who we know: contacts, devices (with certificates and revocations), peers."""


    def upsert_contact(
        self,
        user_id: bytes,
        *,
        name: str | None = None,
        state: str | None = None,
        verified: bool | None = None,
        key_changed: bool | None = None,
        replaces: bytes | None = None,
        own_name: str | None = None,
        named: bool | None = None,
    ) -> ContactRow:
        now = int(time.time())
        with self.transaction():
            old = self.contact(user_id)
            if old is None:
                self._conn.execute(
                    "INSERT INTO contacts (user_id, name, state, verified, key_changed, replaces,"
                    " created, updated, own_name, named) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        user_id, name or "", state or "pending_in", int(bool(verified)),
                        int(bool(key_changed)), replaces, now, now, own_name or "",
                        int(bool(named)),
                    ),
                )
            else:
                self._conn.execute(
                    "UPDATE contacts SET name = ?, state = ?, verified = ?, key_changed = ?,"
                    " replaces = ?, updated = ?, own_name = ?, named = ? WHERE user_id = ?",
                    (
                        old.name if name is None else name,
                        old.state if state is None else state,
                        int(old.verified if verified is None else verified),
                        int(old.key_changed if key_changed is None else key_changed),
                        old.replaces if replaces is None else replaces,
                        now,
                        old.own_name if own_name is None else own_name,
                        int(old.named if named is None else named),
                        user_id,
                    ),
                )
            new = self.contact(user_id)
            assert new is not None
            return new

    def contact(self, user_id: bytes) -> ContactRow | None:
        row = self._conn.execute(
            "SELECT user_id, name, state, verified, key_changed, replaces, created, updated,"
            " own_name, named FROM contacts WHERE user_id = ?",
            (user_id,),
        ).fetchone()
        return None if row is None else contact_from_row(row)

    def contacts(self) -> list[ContactRow]:
        return [
            contact_from_row(r)
            for r in self._conn.execute(
                "SELECT user_id, name, state, verified, key_changed, replaces, created,"
                " updated, own_name, named FROM contacts ORDER BY name COLLATE NOCASE, user_id"
            )
        ]

    def delete_contact(self, user_id: bytes) -> None:
        with self.transaction():
            self._conn.execute("DELETE FROM contacts WHERE user_id = ?", (user_id,))

    # -- devices -------------------------------------------------------------------------

    def upsert_device(
        self, device_id: bytes, user_id: bytes, name: str, created: int, cert: bytes,
        *, proven: bool = False,
    ) -> None:
        """Store a (verified) certificate: ``user_id``'s claim on ``device_id``. Claims of
        other users on the same device stay apart (see :meth:`device`). ``proven``: the
        device itself showed it in a handshake."""
        with self.transaction():
            self._conn.execute(
                "INSERT INTO devices (device_id, user_id, name, created, cert, proven) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (device_id, user_id) DO UPDATE SET "
                "name = iif(excluded.created >= devices.created, excluded.name, devices.name),"
                " cert = iif(excluded.created >= devices.created, excluded.cert, devices.cert),"
                " created = max(excluded.created, devices.created),"
                " proven = max(excluded.proven, devices.proven)",
                (device_id, user_id, name, created, cert, int(proven)),
            )
            # A revocation may arrive before the certificate it revokes.
            self._conn.execute(
                "UPDATE devices SET revoked = 1 WHERE device_id = ? AND revoked = 0 AND "
                "EXISTS (SELECT 1 FROM revocations WHERE device_id = ? AND user_id = ?)",
                (device_id, device_id, user_id),
            )

    def device(self, device_id: bytes, user_id: bytes | None = None) -> DeviceRow | None:
        """The device's claim by ``user_id``; without one, the claim that counts: the one
        the device itself proved in a handshake, else the only one (several unproven
        claims: none — who the device is depends on where it writes, see
        :meth:`device_claims`)."""
        if user_id is not None:
            row = self._conn.execute(
                _DEVICE_SELECT + "WHERE device_id = ? AND user_id = ?", (device_id, user_id)
            ).fetchone()
            return None if row is None else device_from_row(row)
        claims = self.device_claims(device_id)
        proven = [c for c in claims if c.proven]
        if proven:
            return proven[0]
        return claims[0] if len(claims) == 1 else None

    def prune_strangers(self, me: bytes, keep: int) -> int:
        """Forget all but the ``keep`` most recently seen devices of strangers (users who
        are neither me, nor in my contacts, nor a member of any conversation here);
        how many were forgotten."""
        with self.transaction():
            before = self._conn.total_changes
            self._conn.execute(
                "DELETE FROM devices WHERE (device_id, user_id) IN ("
                " SELECT device_id, user_id FROM devices d WHERE d.user_id != :me"
                " AND NOT EXISTS (SELECT 1 FROM contacts c WHERE c.user_id = d.user_id)"
                " AND NOT EXISTS (SELECT 1 FROM members m WHERE m.user_id = d.user_id)"
                " AND NOT EXISTS (SELECT 1 FROM revocations r WHERE r.device_id = d.device_id)"
                " ORDER BY coalesce(d.last_seen, d.created) DESC LIMIT -1 OFFSET :keep)",
                {"me": me, "keep": keep},
            )
            return self._conn.total_changes - before

    def device_claims(self, device_id: bytes) -> list[DeviceRow]:
        """Every user's claim on ``device_id``, proven first, then oldest."""
        return [
            device_from_row(r)
            for r in self._conn.execute(
                _DEVICE_SELECT + "WHERE device_id = ? ORDER BY proven DESC, created",
                (device_id,),
            )
        ]

    def devices(self, user_id: bytes | None = None) -> list[DeviceRow]:
        sql = _DEVICE_SELECT.rstrip()
        args: tuple[Any, ...] = ()
        if user_id is not None:
            sql += " WHERE user_id = ?"
            args = (user_id,)
        return [device_from_row(r) for r in self._conn.execute(sql + " ORDER BY created", args)]

    def touch_device(
        self, device_id: bytes, when: int | None = None, user_id: bytes | None = None
    ) -> None:
        with self.transaction():
            self._conn.execute(
                "UPDATE devices SET last_seen = ? WHERE device_id = ? "
                "AND (? IS NULL OR user_id = ?)",
                (int(time.time()) if when is None else when, device_id, user_id, user_id),
            )

    def revoke_device(self, device_id: bytes, user_id: bytes, created: int, raw: bytes) -> None:
        """Store a (verified) revocation and flag the device; a device never comes back."""
        with self.transaction():
            self._conn.execute(
                "INSERT OR IGNORE INTO revocations (device_id, user_id, created, raw) "
                "VALUES (?, ?, ?, ?)",
                (device_id, user_id, created, raw),
            )
            self._conn.execute(
                "UPDATE devices SET revoked = 1 WHERE device_id = ? AND user_id = ?",
                (device_id, user_id),
            )

    def revocations(self) -> list[tuple[bytes, bytes, bytes]]:
        """(device_id, user_id, raw revocation) of every revoked device we know."""
        return [
            (r[0], r[1], r[2])
            for r in self._conn.execute(
                "SELECT device_id, user_id, raw FROM revocations ORDER BY created"
            )
        ]

    # -- last-writer-wins clocks --------------------------------------------------------

    def lww_clock(self, key: str) -> tuple[int, bytes] | None:
        """The (lamport, author) clock that set ``key`` last."""
        row = self._conn.execute("SELECT lamport, author FROM lww WHERE key = ?", (key,)).fetchone()
        return None if row is None else (int(row[0]), bytes(row[1]))

    def lww_newer(self, key: str, lamport: int, author: bytes) -> bool:
        """Record (lamport, author) for ``key`` if it beats the stored clock; True if so."""
        with self.transaction():
            row = self._conn.execute(
                "SELECT lamport, author FROM lww WHERE key = ?", (key,)
            ).fetchone()
            if row is not None and (int(row[0]), bytes(row[1])) >= (lamport, author):
                return False
            self._conn.execute(
                "INSERT INTO lww (key, lamport, author) VALUES (?, ?, ?) ON CONFLICT (key) "
                "DO UPDATE SET lamport = excluded.lamport, author = excluded.author",
                (key, lamport, author),
            )
            return True

    # -- remembered peers ------------------------------------------------------------------

    def remember_peer(
        self, address: str, device_id: bytes | None = None, *, manual: bool = False
    ) -> None:
        with self.transaction():
            self._conn.execute(
                "INSERT INTO peers (address, device_id, manual, last_seen) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (address) DO UPDATE SET "
                "device_id = coalesce(excluded.device_id, peers.device_id), "
                "manual = max(peers.manual, excluded.manual), last_seen = excluded.last_seen",
                (address, device_id, int(manual), int(time.time())),
            )

    def peers(self) -> list[PeerRow]:
        return [
            PeerRow(r[0], r[1], bool(r[2]), r[3])
            for r in self._conn.execute(
                "SELECT address, device_id, manual, last_seen FROM peers ORDER BY address"
            )
        ]
