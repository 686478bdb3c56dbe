"""Engine and session factory; created by the caller from settings, never at import."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker


class Base(DeclarativeBase):
    """Declarative base for every table of the project."""


# Session settings of every connection. jit = off: the server's default (on) compiles any query whose estimate
# passes jit_above_cost, and the layer queries' estimates do at 5 M case reports although they run in tens of
# milliseconds: the case points of a district's 28 days took 550 ms, 514 of them compiling (25 ms without).
SESSION_OPTIONS = "-c jit=off"


def make_engine(url: str, connect_args: dict[str, object] | None = None, **kw: object) -> Engine:
    """An engine whose connections are checked before use and carry SESSION_OPTIONS (with `connect_args`)."""
    options: dict[str, object] = {"options": SESSION_OPTIONS, **(connect_args or {})}
    return create_engine(url, pool_pre_ping=True, future=True, connect_args=options, **kw)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One transaction: commit on success, roll back on any error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
