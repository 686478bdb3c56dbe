"""What a model run outside the runner module reads of the runner's context (alerting.runner._Ctx)."""
from __future__ import annotations

from datetime import date
from typing import Any, Protocol

from sqlalchemy.orm import Session

from alerting.config import WarnConfig


class RunContext(Protocol):
    session: Session
    cfg: WarnConfig
    as_of: date
    district_code: str | None
    diseases: dict[str, Any]
    regions: dict[str, Any]
