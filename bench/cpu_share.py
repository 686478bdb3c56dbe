"""CPU seconds spent by the web server, PostgreSQL and the load generator during a measurement (Linux /proc).

On a two-core machine the three share the cores, so latency under a closed loop of clients is set by the CPU
each request costs: `clients / throughput` is the mean latency, and throughput is at most the cores divided
by the CPU per request. Printing that cost per part shows where a latency goal's budget goes.
"""
from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue  # the task ended meanwhile
    return found


def tree(pid: int) -> set[int]:
    """`pid` and every process below it."""
    seen, todo = set(), [pid]
    while todo:
        p = todo.pop()
        if p not in seen:
            seen.add(p)
            todo += _children(p)
    return seen


def _ticks(pid: int) -> tuple[int, str]:
    """(clock ticks, command name) of a process; (0, "") once it has gone.

    The ticks include those of its children that ended and were waited for (cutime, cstime): the load
    generator's worker processes and PostgreSQL backends that closed count with their parent."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0, ""
    name, fields = stat[stat.index("(") + 1:stat.rindex(")")], stat[stat.rindex(")") + 2:].split()
    return sum(int(f) for f in fields[11:15]), name


def snapshot(server_pid: int) -> Counter[str]:
    """Clock ticks so far of the server's process tree, every PostgreSQL process, and this process's tree."""
    server, loadgen = tree(server_pid), tree(os.getpid())
    out: Counter[str] = Counter()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        ticks, name = _ticks(pid)
        part = "server" if pid in server else "loadgen" if pid in loadgen else \
            "postgres" if name.startswith("postgres") else "other"
        out[part] += ticks
    return out


@contextmanager
def cpu_seconds(server_pid: int) -> Iterator[dict[str, float]]:
    """Fills the yielded dict with CPU seconds per part (server, postgres, loadgen, other) on leaving."""
    before = snapshot(server_pid)
    out: dict[str, float] = {}
    yield out
    after = snapshot(server_pid)
    out.update({part: (after[part] - before.get(part, 0)) / TICKS for part in after})
