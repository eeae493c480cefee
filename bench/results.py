"""Print benchmark figures with their goals, and add them to the results file (``make bench``).

The results file (``BENCH_RESULTS``, default ``bench/results.json``) is a JSON list of
``{"name", "value", "unit", "goal", "met"}``; ``make bench`` empties it first, and every
benchmark command appends its figures. ``goal`` is a text such as ``"<= 50"`` in the
figure's unit (``None`` for a figure shown for reference), ``met`` a boolean or ``None``.
"""

import json
import operator
import os
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

from django.conf import settings

_COMPARE = {"<=": operator.le, ">=": operator.ge}
# The digits a unit's figures keep unless a figure says otherwise: counts and rates (any
# "…/s") are whole, seconds and ratios to the hundredth; the rest (µs, ms, ×) to the thousandth.
_DIGITS = {"s": 2, "ratio": 2, "MB": 1, "queries": 0, "rows": 0}


class Figure(NamedTuple):
    """One figure: ``goal`` is ``"<= x"`` or ``">= x"`` in ``unit``, None for reference."""

    name: str
    value: float
    unit: str
    goal: str | None = None
    ndigits: int | None = None  # None: the unit's (_digits)


def _digits(unit: str) -> int:
    return 0 if unit.endswith("/s") else _DIGITS.get(unit, 3)


def results_path() -> Path:
    return Path(os.environ.get("BENCH_RESULTS") or settings.BASE_DIR / "bench" / "results.json")


def report(stdout, figures: Iterable[Figure]) -> None:
    """Print ``name: value unit (goal …: met)`` for each figure; append them to the results file."""
    rows = []
    for name, value, unit, goal, ndigits in figures:
        met = None
        if goal is not None:
            op, threshold = goal.split()
            met = bool(_COMPARE[op](value, float(threshold)))
        value = round(value, _digits(unit) if ndigits is None else ndigits)
        verdict = "" if met is None else f"  (goal {goal} {unit}: {'met' if met else 'NOT MET'})"
        stdout.write(f"{name}: {value:,} {unit}{verdict}")
        rows.append({"name": name, "value": value, "unit": unit, "goal": goal, "met": met})
    path = results_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    written = json.loads(path.read_text()) if path.exists() else []
    path.write_text(json.dumps(written + rows, ensure_ascii=False, indent=2) + "\n")
