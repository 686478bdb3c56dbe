"""Issue #15 item 10: mapclassify's "Numba not installed" warning is silenced once (layers/incidence.py)."""
from __future__ import annotations

import warnings


def test_numba_warning_is_silenced() -> None:
    from layers.incidence import class_breaks

    with warnings.catch_warnings(record=True) as caught:
        class_breaks([float(v) for v in range(1, 40)], k=5)
        class_breaks([float(v) for v in range(2, 60)], k=5)
    assert not [w for w in caught if "Numba" in str(w.message)]
