"""Source leases: at most one run per source at a time, across every process sharing a database.

A lease is a row in `source_leases` (source key, holder, expiry). It is taken with one
conditional write that works the same on SQLite and PostgreSQL: UPDATE the row when it has
expired or is already ours, else INSERT it; a unique-key clash means someone else holds it.
PostgreSQL re-checks the UPDATE's condition after waiting on a concurrent writer's row lock, and
SQLite serialises writers (BEGIN IMMEDIATE), so two takers never both win. A holder that dies
keeps its lease only until `expires_at`; a holder that finishes deletes it.

`sources.running_since` mirrors the lease for people reading the database (`sources` command).
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from monitor.store.schema import SourceLeaseRecord, SourceRecord


@dataclass(frozen=True)
class Lease:
    source_key: str
    holder: str
    taken_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class Holder:
    """Who takes leases: host and process id (to recognise a dead local holder) and a random
    token (a restarted process with a reused pid is someone else). Each run of a process adds
    "-<n>" to the token, so two threads of one process never share a lease."""

    host: str
    pid: int
    token: str

    @classmethod
    def this_process(cls) -> Holder:
        return cls(socket.gethostname()[:120], os.getpid(), uuid.uuid4().hex[:16])

    def __str__(self) -> str:
        return f"{self.host}:{self.pid}:{self.token}"

    @classmethod
    def parse(cls, value: str) -> Holder | None:
        host, _, rest = value.rpartition(":")
        host, _, pid = host.rpartition(":")
        return cls(host, int(pid), rest) if host and pid.isdigit() else None


class Leases:
    """The lease table, behind typed methods (reached as `Store.leases`)."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def take(self, source_key: str, holder: str, now: datetime, ttl: timedelta) -> bool:
        """Take the source's lease for `ttl`; False when another live holder has it."""
        expires = now + ttl
        with self._sessions() as s, s.begin():
            got = s.execute(
                update(SourceLeaseRecord)
                .where(
                    SourceLeaseRecord.source_key == source_key,
                    or_(SourceLeaseRecord.expires_at <= now, SourceLeaseRecord.holder == holder),
                )
                .values(holder=holder, taken_at=now, expires_at=expires)
            )
            if got.rowcount != 1:  # type: ignore[attr-defined]
                try:
                    with s.begin_nested():
                        s.add(
                            SourceLeaseRecord(
                                source_key=source_key,
                                holder=holder,
                                taken_at=now,
                                expires_at=expires,
                            )
                        )
                        s.flush()
                except IntegrityError:
                    return False
            s.execute(
                update(SourceRecord).where(SourceRecord.key == source_key).values(running_since=now)
            )
        return True

    def release(self, source_key: str, holder: str) -> bool:
        """Give the lease back; False when it was no longer ours (it expired and was taken)."""
        with self._sessions() as s, s.begin():
            got = s.execute(
                delete(SourceLeaseRecord).where(
                    SourceLeaseRecord.source_key == source_key, SourceLeaseRecord.holder == holder
                )
            )
            ours = got.rowcount == 1  # type: ignore[attr-defined]
            if ours:
                s.execute(
                    update(SourceRecord)
                    .where(SourceRecord.key == source_key)
                    .values(running_since=None)
                )
        return ours

    def held(self, now: datetime) -> list[Lease]:
        """The leases that still count at `now`."""
        with self._sessions() as s:
            q = select(SourceLeaseRecord).where(SourceLeaseRecord.expires_at > now)
            return [
                Lease(r.source_key, r.holder, r.taken_at, r.expires_at)
                for r in s.scalars(q.order_by(SourceLeaseRecord.source_key))
            ]

    def release_dead(self, host: str, alive: Callable[[int], bool], own: Holder) -> int:
        """Release leases of processes on this host that are gone (a killed `run` restarted),
        so a single-box service does not wait out the expiry after a crash. Returns how many."""
        with self._sessions() as s, s.begin():
            dead = []
            for rec in s.scalars(select(SourceLeaseRecord)):
                h = Holder.parse(rec.holder)
                if h is None or h.host != host or h.token.split("-")[0] == own.token:
                    continue  # another host's, or one of this process's own runs
                if h.pid == own.pid or not alive(h.pid):
                    dead.append(rec.source_key)
            if dead:
                s.execute(delete(SourceLeaseRecord).where(SourceLeaseRecord.source_key.in_(dead)))
                s.execute(
                    update(SourceRecord)
                    .where(SourceRecord.key.in_(dead))
                    .values(running_since=None)
                )
            return len(dead)
