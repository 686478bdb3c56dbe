"""CPU seconds of a process tree, read from /proc: utime+stime of the root and every live descendant, plus
cutime+cstime (what reaped children used), so backends that ended between two readings still count.

The difference of two readings is the CPU the tree used in between (Linux only).
"""
from __future__ import annotations

import os
from collections import defaultdict
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")


def _fields(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name (state first), None when the process is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw[raw.rindex(")") + 2:].split()


def _children() -> dict[int, list[int]]:
    """Every process's children (one pass over /proc)."""
    kids: dict[int, list[int]] = defaultdict(list)
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            fields = _fields(int(entry.name))
            if fields is not None:
                kids[int(fields[1])].append(int(entry.name))
    return kids


def _ticks(pid: int) -> int:
    """utime + stime + cutime + cstime of one process (fields 14-17 of stat), 0 when it is gone."""
    fields = _fields(pid)
    return 0 if fields is None else sum(int(v) for v in fields[11:15])


def tree_cpu(root: int) -> float:
    """CPU seconds used so far by `root` and its descendants."""
    kids, todo, ticks = _children(), [root], 0
    while todo:
        pid = todo.pop()
        ticks += _ticks(pid)
        todo += kids.get(pid, [])
    return ticks / TICK


def postmaster(data_dir: Path) -> int:
    """The pid of the cluster in `data_dir` (first line of postmaster.pid)."""
    return int((data_dir / "postmaster.pid").read_text().splitlines()[0])
