#!/usr/bin/env python3
"""Fail when a function of the application packages is longer than MAX_LINES lines.

A function's length runs from its `def` line to its last line (decorators not counted).
Numerical detector code is exempt: its long functions follow the published algorithms step by step.
Usage: scripts/check_function_length.py [--max N] [ROOT]; exits 1 when a function is too long.
"""
from __future__ import annotations

import argparse
import ast
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

MAX_LINES = 60
PACKAGES = ("cli", "dashboard", "demo", "ingest", "command", "feeds", "alerting", "dispatch", "layers", "gazetteer",
            "exchange", "assist", "fieldwork", "accounts", "store", "config", "geo", "security", "core")
# Numerical detector code, relative to the root: a file, or a folder ending in "/".
EXEMPT = ("alerting/detectors/", "alerting/forecast/rt.py")
SHOWN = 10


@dataclass(frozen=True)
class Function:
    path: str
    line: int
    name: str
    length: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line} {self.name} ({self.length} lines)"


def is_exempt(relative: str) -> bool:
    return any(relative.startswith(e) if e.endswith("/") else relative == e for e in EXEMPT)


def source_files(root: Path) -> Iterator[Path]:
    for package in PACKAGES:
        folder = root / package
        if folder.is_dir():
            yield from sorted(folder.rglob("*.py"))


def functions(tree: ast.AST, path: str) -> Iterator[Function]:
    """Every function and method of a module, nested ones included, with its qualified name."""
    def walk(node: ast.AST, prefix: str) -> Iterator[Function]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                name = prefix + child.name
                yield Function(path, child.lineno, name, (child.end_lineno or child.lineno) - child.lineno + 1)
                yield from walk(child, name + ".")
            elif isinstance(child, ast.ClassDef):
                yield from walk(child, prefix + child.name + ".")
            else:
                yield from walk(child, prefix)
    return walk(tree, "")


def measure(root: Path) -> list[Function]:
    """All functions of the checked packages, longest first; SyntaxError names the file that does not parse."""
    found: list[Function] = []
    for file in source_files(root):
        relative = file.relative_to(root).as_posix()
        if not is_exempt(relative):
            found.extend(functions(ast.parse(file.read_text(encoding="utf-8"), relative), relative))
    return sorted(found, key=lambda f: (-f.length, f.path, f.line))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", nargs="?", type=Path, default=Path(__file__).resolve().parent.parent)
    parser.add_argument("--max", type=int, default=MAX_LINES, help="longest function allowed, in lines")
    args = parser.parse_args(argv)
    try:
        found = measure(args.root)
    except SyntaxError as exc:
        print(f"cannot parse {exc.filename}:{exc.lineno}: {exc.msg}")
        return 1
    too_long = [f for f in found if f.length > args.max]
    print(f"The {min(SHOWN, len(found))} longest functions (limit {args.max} lines):")
    for f in found[:SHOWN]:
        print(f"  {f}")
    if too_long:
        print(f"{len(too_long)} function(s) over {args.max} lines:")
        for f in too_long:
            print(f"  {f}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
