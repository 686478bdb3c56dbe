"""Read routing (issue 21): read-heavy paths use a streaming replica whose replay lag is under a bound.

A replica is fresh when its lag is at most `max_lag` seconds: the lag is bounded by the age of its last replayed
commit and by the time since the primary stood at a WAL position the replica has replayed (WalLag); lags are
measured at most once per `probe_every` seconds.
With no fresh replica (or none configured) reads use the primary. A read that fails because its replica
went away is run again on the primary, so a stopped replica costs no error. Read-your-writes: whoever
wrote recently (`RecentWrites`) reads from the primary for the lag bound. Besides, a read never misses what this
process committed before it (`WriteHorizon`): after a local write the replica is used only once it has replayed
the primary's WAL position of that moment (checked on the replica, waited for briefly), else the primary.
"""
from __future__ import annotations

import contextlib
import itertools
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import redis as redis_lib
from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

T = TypeVar("T")
DB_DOWN = (OperationalError, InterfaceError)
LagProbe = Callable[[Engine, Engine], float | None]  # (primary, replica) → lag in seconds, None: unreachable

_REPLICA_STATE = text("""SELECT pg_last_wal_replay_lsn() - '0/0'::pg_lsn AS replayed,
                                 EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()) AS behind""")
HISTORY = 120  # primary WAL positions remembered (one per probe)


def primary_position(primary: Engine) -> int | None:
    """The primary's current WAL position (bytes), None when it does not answer."""
    try:
        with primary.connect() as conn:
            return int(conn.scalar(text("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn")))
    except DB_DOWN:
        return None


def replica_state(replica: Engine) -> tuple[int | None, float | None] | None:
    """(replayed WAL position, age of the last replayed commit), None when the replica does not answer."""
    try:
        with replica.connect() as conn:
            row = conn.execute(_REPLICA_STATE).one()
    except DB_DOWN:
        return None
    return (None if row.replayed is None else int(row.replayed)), (None if row.behind is None else float(row.behind))


class WalLag:
    """Lag of a replica, an upper bound from two measures: the age of its last replayed commit, and the time since
    the primary was at a WAL position the replica has replayed (primary positions sampled at each probe)."""

    def __init__(self) -> None:
        self.history: deque[tuple[float, int]] = deque(maxlen=HISTORY)
        self._sampled_at = -math.inf

    def __call__(self, primary: Engine, replica: Engine) -> float | None:
        now = time.monotonic()
        if now - self._sampled_at > 0.05:  # once per probe round, whatever the number of replicas
            position = primary_position(primary)
            if position is not None:
                self.history.append((now, position))
            self._sampled_at = now
        state = replica_state(replica)
        if state is None:
            return None
        replayed, behind = state
        bounds = [behind if behind is not None else math.inf]
        if replayed is not None:
            bounds += [now - at for at, position in self.history if position <= replayed][-1:]
        return max(0.0, min(bounds))


@dataclass(eq=False)
class Replica:
    """One read replica: its engine, sessions, the last measured lag (None: unreachable), and the WAL position
    it was last seen to have replayed (by a caught-up check)."""

    name: str
    engine: Engine
    session_factory: sessionmaker[Session]
    lag: float | None = None
    replayed: int = 0


_WRITES = ("INSERT", "UPDATE", "DELETE", "MERGE", "COPY", "WITH", "CREATE", "ALTER", "DROP", "TRUNCATE")
_WROTE = "onemap_wrote"
_REPLAYED = text("""SELECT CASE WHEN pg_is_in_recovery() THEN COALESCE(pg_last_wal_replay_lsn() - '0/0'::pg_lsn, 0)
                          ELSE pg_current_wal_lsn() - '0/0'::pg_lsn END""")  # not a standby: holds its own writes
CATCH_UP_SECONDS = 0.25  # longest wait for a replica to replay this process's last write, then the primary


class WriteHorizon:
    """The primary's WAL position after this process's last committed write (one per primary database, shared by
    every engine on it in the process): a replica read must not start before the replica has replayed it.

    A connection that executed a data-changing statement marks the horizon dirty when it goes back to the pool
    (after its commit); the next replica read asks the primary for its current position once."""

    _all: dict[str, WriteHorizon] = {}
    _all_lock = threading.Lock()

    def __init__(self) -> None:
        self.position = 0
        self.dirty = False
        self._lock = threading.Lock()

    @classmethod
    def of(cls, engine: Engine) -> WriteHorizon:
        """The horizon of `engine`'s database, its write tracking installed on `engine` (once)."""
        key = engine.url.render_as_string(hide_password=True)
        with cls._all_lock:
            horizon = cls._all.setdefault(key, cls())
        if not engine.dialect.name.startswith("postgres"):
            return horizon
        if not event.contains(engine, "before_cursor_execute", _note_write):
            event.listen(engine, "before_cursor_execute", _note_write)
            event.listen(engine.pool, "checkin", horizon._checked_in)
        return horizon

    def _checked_in(self, _dbapi_conn: Any, record: Any) -> None:
        if record is not None and record.info.pop(_WROTE, False):
            self.dirty = True

    def needed(self, primary: Engine) -> int:
        """The WAL position a replica must have replayed (0: nothing written by this process)."""
        if self.dirty:
            with self._lock:
                if self.dirty:
                    self.dirty = False  # a write checked in from now on marks it again
                    position = primary_position(primary)
                    if position is None:
                        self.dirty = True
                        return self.position
                    self.position = max(self.position, position)
        return self.position


def _note_write(conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
    if statement.lstrip()[:12].upper().startswith(_WRITES):
        conn.info[_WROTE] = True


class _Behind(Exception):
    """The replica has not replayed this process's last write yet."""


def caught_up(session: Session, replica: Replica, needed: int, wait: float = CATCH_UP_SECONDS) -> bool:
    """True once `replica` (in `session`) has replayed WAL position `needed`; waits at most `wait` seconds."""
    if replica.replayed >= needed:
        return True
    deadline = time.monotonic() + wait
    while True:
        replica.replayed = max(replica.replayed, int(session.scalar(_REPLAYED) or 0))
        if replica.replayed >= needed:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.01)


class ReadRouter:
    """Chooses the session factory of a read: a fresh replica (round robin) or the primary."""

    def __init__(self, primary: sessionmaker[Session], primary_engine: Engine, replicas: Sequence[Replica] = (),
                 *, max_lag: float = 5.0, probe: LagProbe | None = None, probe_every: float = 1.0,
                 horizon: WriteHorizon | None = None) -> None:
        self.primary, self.primary_engine = primary, primary_engine
        self.replicas = list(replicas)
        self.horizon = horizon  # None: no causal check (only the lag bound)
        self.behind = 0  # reads sent to the primary because the replica had not replayed a local write
        self.max_lag, self.probe, self.probe_every = max_lag, probe or WalLag(), probe_every
        self._probed_at = -math.inf
        self._lock = threading.Lock()
        self._turn = itertools.count()
        self.fallbacks = 0  # reads re-run on the primary after their replica failed

    @property
    def enabled(self) -> bool:
        return bool(self.replicas)

    def refresh(self, force: bool = False) -> None:
        """Measure every replica's lag, unless measured within `probe_every` (one thread probes, others go on)."""
        if not force and time.monotonic() - self._probed_at < self.probe_every:
            return
        if not self._lock.acquire(blocking=force):
            return
        try:
            for replica in self.replicas:
                replica.lag = self.probe(self.primary_engine, replica.engine)
            self._probed_at = time.monotonic()
        finally:
            self._lock.release()

    def fresh(self) -> list[Replica]:
        return [r for r in self.replicas if r.lag is not None and r.lag <= self.max_lag]

    def choose(self, recent_writer: bool = False) -> Replica | None:
        """A fresh replica, or None for the primary (always the primary for a recent writer)."""
        if not self.replicas or recent_writer:
            return None
        self.refresh()
        fresh = self.fresh()
        return fresh[next(self._turn) % len(fresh)] if fresh else None

    def mark_down(self, replica: Replica) -> None:
        replica.lag = None  # until the next probe finds it again

    def read(self, fn: Callable[[Session], T], recent_writer: bool = False) -> T:
        """`fn(session)` in a read transaction on the chosen database; re-run on the primary if a replica fails."""
        replica = self.choose(recent_writer)
        if replica is not None:
            needed = self.horizon.needed(self.primary_engine) if self.horizon else 0
            try:
                return _run(replica.session_factory, fn, replica, needed)
            except _Behind:
                self.behind += 1
            except DB_DOWN:
                self.mark_down(replica)
                self.fallbacks += 1
        return _run(self.primary, fn)

    def session(self, recent_writer: bool = False) -> Session:
        """A session on the chosen database, already connected (a replica that cannot connect: the primary)."""
        replica = self.choose(recent_writer)
        if replica is not None:
            needed = self.horizon.needed(self.primary_engine) if self.horizon else 0
            session = replica.session_factory()
            try:
                session.connection()
                if not needed or caught_up(session, replica, needed):
                    return session
                session.close()
                self.behind += 1
            except DB_DOWN:
                session.close()
                self.mark_down(replica)
                self.fallbacks += 1
        return self.primary()

    def status(self) -> list[dict[str, Any]]:
        return [{"name": r.name, "lag_seconds": r.lag, "fresh": r in self.fresh()} for r in self.replicas]


def _run(factory: sessionmaker[Session], fn: Callable[[Session], T], replica: Replica | None = None,
         needed: int = 0) -> T:
    with factory() as session, session.begin():
        if replica is not None and needed and not caught_up(session, replica, needed):
            raise _Behind
        return fn(session)


class RecentWrites:
    """Who wrote within the last `seconds` (shared through Redis by every process, remembered locally too)."""

    def __init__(self, redis: redis_lib.Redis, namespace: str, seconds: float) -> None:
        self.redis, self.namespace, self.seconds = redis, namespace, seconds
        self._local: dict[str, float] = {}

    def _key(self, who: str) -> str:
        return f"{self.namespace}:wrote:{who}"

    def mark(self, who: str) -> None:
        until = time.monotonic() + self.seconds
        if len(self._local) > 10_000:
            self._local = {k: v for k, v in self._local.items() if v > time.monotonic()}
        self._local[who] = until
        # on a Redis failure this process still remembers; other processes may read a replica within the bound
        with contextlib.suppress(redis_lib.RedisError):
            self.redis.set(self._key(who), b"1", px=max(1, int(self.seconds * 1000)))

    def recent(self, who: str) -> bool:
        """True when `who` wrote within the bound; True as well when Redis cannot tell (the primary is safe)."""
        if self._local.get(who, -math.inf) > time.monotonic():
            return True
        try:
            return bool(self.redis.exists(self._key(who)))
        except redis_lib.RedisError:
            return True
