"""A process's background chainer: links intake's pending audit actions into the chain soon after their commit.

A writer that recorded pending actions calls `poke` after its commit and returns at once; one thread per process
then chains everything committed so far, with the chain's lock, in transactions of up to CHAIN_BATCH rows, at
most one pass every MIN_INTERVAL_SECONDS. A pass starts after the poke, so it sees the writer's rows. Rows left
by a process that died in between, or by a pass that failed (database outage), are chained by the next pass of
any process or by the checkpoint timer (`audit.checkpoint`).
"""
from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable

from sqlalchemy.orm import Session

from accounts.audit import CHAIN_BATCH, chain_pending

log = logging.getLogger(__name__)
# Passes at most this often: under a live feed each pass then chains the actions of many writers in one commit.
MIN_INTERVAL_SECONDS = 0.5


class PendingChainer:
    def __init__(self, session_factory: Callable[[], Session]) -> None:
        self.session_factory = session_factory
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid = 0
        self._start_lock = threading.Lock()

    def poke(self) -> None:
        """Pending actions were committed: chain them soon."""
        self._ensure_thread()
        self._wake.set()

    def _ensure_thread(self) -> None:
        with self._start_lock:  # a forked child inherits the object but not the thread
            if self._thread is None or self._pid != os.getpid():
                self._pid = os.getpid()
                self._thread = threading.Thread(target=self._run, name="audit-chainer", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        last = 0.0
        while True:
            self._wake.wait()
            time.sleep(max(0.0, last + MIN_INTERVAL_SECONDS - time.monotonic()))
            self._wake.clear()  # after the pause: pokes until here are served by this pass
            last = time.monotonic()
            try:
                self._chain_all()
            except Exception:  # the rows stay pending; the next poke or the checkpoint timer chains them
                log.exception("could not chain pending audit actions")

    def _chain_all(self) -> None:
        moved = CHAIN_BATCH
        while moved == CHAIN_BATCH:
            with self.session_factory() as session:
                moved = chain_pending(session)
                session.commit()


_chainers: dict[int, PendingChainer] = {}
_registry_lock = threading.Lock()


def chainer_for(session_factory: Callable[[], Session]) -> PendingChainer:
    """The process's chainer for this database (one per session factory)."""
    with _registry_lock:
        chainer = _chainers.get(id(session_factory))
        if chainer is None or chainer.session_factory is not session_factory:
            chainer = _chainers[id(session_factory)] = PendingChainer(session_factory)
        return chainer
