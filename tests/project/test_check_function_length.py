"""No function of the application packages is over 60 lines (scripts/check_function_length.py)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.paths import REPO_ROOT

SCRIPT = REPO_ROOT / "scripts" / "check_function_length.py"


def test_no_function_over_60_lines() -> None:
    done = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_long_function_fails(tmp_path: Path) -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(60))
    (tmp_path / "geo").mkdir()
    (tmp_path / "geo" / "long.py").write_text(f"def long() -> None:\n{body}\n", encoding="utf-8")
    done = subprocess.run([sys.executable, str(SCRIPT), str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert "geo/long.py:1 long (61 lines)" in done.stdout
