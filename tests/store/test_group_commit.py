"""store.group_commit: every item written once, in order, callers wait for their own write and see its error."""
from __future__ import annotations

import threading
import time

import pytest

from store.group_commit import GroupCommit


def test_alone_each_item_is_written_at_once() -> None:
    batches: list[list[int]] = []
    group = GroupCommit(batches.append)
    group.submit(1)
    group.submit(2)
    assert batches == [[1], [2]]


def test_concurrent_items_are_written_once_in_fewer_batches() -> None:
    batches: list[list[int]] = []
    written: set[int] = set()

    def slow_write(items: list[int]) -> None:
        time.sleep(0.02)  # a commit: others arrive meanwhile
        batches.append(items)
        written.update(items)

    group = GroupCommit(slow_write)
    returned: list[int] = []

    def caller(i: int) -> None:
        group.submit(i)
        assert i in written  # back only once its own item is written
        returned.append(i)

    threads = [threading.Thread(target=caller, args=(i,)) for i in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(returned) == list(range(40))
    assert sorted(i for b in batches for i in b) == list(range(40))
    assert len(batches) < 40


def test_a_failed_write_fails_its_callers_and_the_next_write_goes_on() -> None:
    calls: list[list[str]] = []

    def write(items: list[str]) -> None:
        calls.append(items)
        if "bad" in items:
            raise RuntimeError("disk full")

    group = GroupCommit(write)
    with pytest.raises(RuntimeError, match="disk full"):
        group.submit("bad")
    group.submit("good")
    assert calls == [["bad"], ["good"]]


def test_a_failed_batch_is_written_again_item_by_item_so_only_the_bad_item_fails() -> None:
    calls: list[list[str]] = []
    started, release = threading.Event(), threading.Event()

    def write(items: list[str]) -> None:
        if items == ["first"]:
            started.set()
            release.wait(5)  # the others queue meanwhile and go out as one batch
        calls.append(items)
        if "bad" in items:
            raise RuntimeError("bad row")

    group = GroupCommit(write)
    outcome: dict[str, str] = {}

    def caller(item: str) -> None:
        try:
            group.submit(item)
            outcome[item] = "written"
        except RuntimeError:
            outcome[item] = "failed"

    first = threading.Thread(target=caller, args=("first",))
    first.start()
    started.wait(5)
    others = [threading.Thread(target=caller, args=(item,)) for item in ("a", "bad", "b")]
    for t in others:
        t.start()
    deadline = time.monotonic() + 5
    while len(group._waiting) < 3 and time.monotonic() < deadline:
        time.sleep(0.001)
    release.set()
    for t in [first, *others]:
        t.join()
    assert outcome == {"first": "written", "a": "written", "bad": "failed", "b": "written"}
    batch = calls[1]
    assert sorted(batch) == ["a", "b", "bad"] and sorted(calls[2:]) == [["a"], ["b"], ["bad"]]
