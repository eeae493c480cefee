"""Print a benchmark figure with its goal, and add it to the results file (``make bench``).

The results file (``BENCH_RESULTS``, default ``bench/results.json``) is a JSON list of
``{"name", "value", "unit", "goal", "met"}``; ``make bench`` empties it first, and every
benchmark command appends its figures. ``goal`` is a text such as ``"<= 50"`` in the
figure's unit (``None`` for a figure shown for reference), ``met`` a boolean or ``None``.
"""

import json
import operator
import os
from pathlib import Path

from django.conf import settings

_COMPARE = {"<=": operator.le, ">=": operator.ge}


def results_path() -> Path:
    return Path(os.environ.get("BENCH_RESULTS") or settings.BASE_DIR / "bench" / "results.json")


def report(
    stdout,
    *,
    name: str,
    value: float,
    unit: str,
    goal: str | None = None,
    ndigits: int = 3,
) -> bool | None:
    """Print ``name: value unit (goal …, met)`` and append it to the results file.

    ``goal`` is ``"<= x"`` or ``">= x"`` in ``unit``. Returns whether it is met (None: no goal).
    """
    met = None
    if goal is not None:
        op, threshold = goal.split()
        met = bool(_COMPARE[op](value, float(threshold)))
    value = round(value, ndigits)
    verdict = "" if met is None else f"  (goal {goal} {unit}: {'met' if met else 'NOT MET'})"
    stdout.write(f"{name}: {value:,} {unit}{verdict}")
    path = results_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = json.loads(path.read_text()) if path.exists() else []
    rows.append({"name": name, "value": value, "unit": unit, "goal": goal, "met": met})
    path.write_text(json.dumps(rows, ensure_ascii=False, indent=2) + "\n")
    return met
