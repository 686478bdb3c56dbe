"""Issue #15 item 10: `make run` (scripts/provision.sh) waits for the apt lock."""
from __future__ import annotations

import re

from tests.paths import REPO_ROOT

PROVISION = REPO_ROOT / "scripts" / "provision.sh"


def test_every_apt_get_waits_for_the_package_lock() -> None:
    calls = [line for line in PROVISION.read_text().splitlines()
             if re.search(r"\bapt-get\b", line) and not line.lstrip().startswith("#")]
    assert calls, "provision.sh no longer calls apt-get?"
    assert all('"${wait[@]}"' in line for line in calls), calls
    assert "DPkg::Lock::Timeout=600" in PROVISION.read_text()
