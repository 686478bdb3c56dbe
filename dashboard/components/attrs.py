"""Wildcard HTML attributes (`data-*`, `aria-*`) for Dash components, whose names are no Python identifiers."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def attrs(values: Mapping[str, str]) -> dict[str, Any]:
    """`values` ready to pass as `**attrs({...})` to a Dash component.

    Typed Any on purpose: mypy checks a `**dict[str, str]` against every named parameter of the generated
    component (n_clicks: a number, hidden: a bool, ...), though these keys only ever reach its untyped `**kwargs`.
    """
    return dict(values)
