"""Hold N Server-Sent-Events screens open on /api/v1/live from one process (asyncio) and count what each receives.

    python -m bench.load.sse_hold --url http://127.0.0.1:8050 --tokens tokens.json --screens 1000 --seconds 150

Prints `connected N` once every screen is open, then (after --seconds or SIGINT) one JSON line: screens opened, drops
(a closed stream is reopened with Last-Event-ID, as EventSource does) and, per screen, how many
'change' events carrying `--match` arrived.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit


class Screen:
    def __init__(self, token: str) -> None:
        self.token = token
        self.connected = False
        self.matched = 0
        self.drops = 0
        self.errors = 0
        self.last_id = ""


async def _read_events(screen: Screen, reader: asyncio.StreamReader, match: bytes, stop: asyncio.Event) -> None:
    """Count the change events that carry `match` until the stream ends or the run stops."""
    event = b""
    while not stop.is_set():
        line = await reader.readline()
        if not line:
            return
        if line.startswith(b"id:"):
            screen.last_id = line[3:].strip().decode()
        elif line.startswith(b"event:"):
            event = line[6:].strip()
        elif line.startswith(b"data:") and event == b"change" and match in line:
            screen.matched += 1


async def watch(screen: Screen, host: str, port: int, match: bytes, stop: asyncio.Event) -> None:
    while not stop.is_set():
        writer = None
        try:
            reader, writer = await asyncio.open_connection(host, port)
            last = f"Last-Event-ID: {screen.last_id}\r\n" if screen.last_id else ""
            writer.write((f"GET /api/v1/live HTTP/1.0\r\nHost: {host}\r\nAccept: text/event-stream\r\n"
                          f"Authorization: Bearer {screen.token}\r\n{last}\r\n").encode())
            status = await asyncio.wait_for(reader.readline(), 60)
            if b" 200 " not in status:
                raise ConnectionError(status.decode(errors="replace").strip())
            while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                pass  # headers
            screen.connected = True
            await _read_events(screen, reader, match, stop)
            if not stop.is_set():
                screen.drops += 1
        except (TimeoutError, OSError, ConnectionError):
            screen.errors += 1
            await asyncio.sleep(1.0)
        finally:
            if writer is not None:
                writer.close()


async def main_async(args: argparse.Namespace) -> dict[str, object]:
    parts = urlsplit(args.url)
    tokens = json.loads(Path(args.tokens).read_text(encoding="utf-8"))
    screens = [Screen(tokens[i % len(tokens)]) for i in range(args.screens)]
    stop, finish = asyncio.Event(), asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):  # the driver says when the load is over
        asyncio.get_running_loop().add_signal_handler(sig, finish.set)
    tasks = []
    for i, screen in enumerate(screens):
        tasks.append(asyncio.create_task(watch(screen, parts.hostname or "127.0.0.1", parts.port or 80,
                                               args.match.encode(), stop)))
        if i % 50 == 49:
            await asyncio.sleep(50 / args.rate)
    started = time.monotonic()
    while sum(s.connected for s in screens) < len(screens) and time.monotonic() - started < 120:
        await asyncio.sleep(0.5)
    opened = sum(s.connected for s in screens)
    print(f"connected {opened}", flush=True)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(finish.wait(), max(0.1, args.seconds - (time.monotonic() - started)))
    stop.set()
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    matched = sorted(s.matched for s in screens)
    return {"screens": len(screens), "opened": opened, "drops": sum(s.drops for s in screens),
            "errors": sum(s.errors for s in screens), "matched_min": matched[0], "matched_max": matched[-1],
            "matched_total": sum(matched)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--tokens", required=True)
    parser.add_argument("--screens", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=150)
    parser.add_argument("--rate", type=float, default=100, help="new connections per second while opening")
    parser.add_argument("--match", default='"source_id"', help="count change events whose data holds this")
    args = parser.parse_args()
    result = asyncio.run(main_async(args))
    print(json.dumps(result), flush=True)
    sys.exit(0)


if __name__ == "__main__":
    main()
