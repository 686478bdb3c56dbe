"""Audit helpers: link actions recorded outside the chain's lock (reads, intake) into the chain before reading it."""
from __future__ import annotations

from typing import Any

from accounts import audit


def chain_pending(services: Any) -> int:
    """Chain every committed pending action now, as the process's chainer does within a second."""
    with services.session_factory() as db:
        moved = audit.chain_all_pending(db)
        db.commit()
    return moved
