"""Record the key numbers of a notebook so the runner's report can show them.

`record(...)` prints a Spanish line in the notebook and, when the runner set
``COURSE_REPORT_FILE``, appends one JSON line to that file. The runner reads the
file back after the notebook finishes. `note_data(...)` does the same for the
data a notebook used (so the report says when an offline fallback was used).
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

REPORT_ENV = "COURSE_REPORT_FILE"
# Units of speed metrics (seconds, throughput, speed-up): their targets belong in the
# report and the benchmarks, and the test suite does not fail on them (machines vary).
SPEED_UNITS = ("s", "ms", "min", "GFLOP/s", "x", "img/s")


@dataclass
class Metric:
    name: str
    value: float
    target: float | None = None
    higher_is_better: bool = True
    unit: str = ""

    @property
    def met(self) -> bool | None:
        """True/False against the target, None when there is no target."""
        if self.target is None:
            return None
        if not math.isfinite(self.value):
            return False
        if self.higher_is_better:
            return self.value >= self.target
        return self.value <= self.target

    @property
    def is_speed(self) -> bool:
        """A time or throughput metric (by its unit), as opposed to accuracy or error."""
        return self.unit.strip() in SPEED_UNITS

    def describe(self) -> str:
        text = f"{self.name} = {_fmt(self.value)}{self.unit}"
        if self.target is None:
            return text
        sign = "≥" if self.higher_is_better else "≤"
        verdict = "✔ cumple" if self.met else "✘ NO cumple"
        return f"{text} (objetivo {sign} {_fmt(self.target)}{self.unit}) {verdict}"


def _fmt(x: float) -> str:
    if isinstance(x, float) and (abs(x) >= 1e4 or (x != 0 and abs(x) < 1e-3)):
        return f"{x:.3e}"
    return f"{x:.4g}" if isinstance(x, float) else str(x)


def _append(entry: dict[str, Any]) -> None:
    path = os.environ.get(REPORT_ENV)
    if not path:
        return
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(entry, ensure_ascii=False) + "\n")


def record(
    name: str,
    value: float,
    target: float | None = None,
    higher_is_better: bool = True,
    unit: str = "",
) -> Metric:
    """Record a metric (and its target) for the report, and print it in Spanish.

    >>> record("precision_test", 0.97, target=0.95)   # doctest: +SKIP
    📌 precision_test = 0.97 (objetivo ≥ 0.95) ✔ cumple
    """
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise TypeError(
            f"record('{name}', ...): el valor debe ser un número, no {type(value).__name__}."
        ) from None
    metric = Metric(name, value, None if target is None else float(target), higher_is_better, unit)
    print("📌 " + metric.describe())
    _append({"kind": "metric", **asdict(metric)})
    return metric


def note_data(dataset: str, source: str, detail: str = "") -> None:
    """Tell the report which data a notebook used (cache, mirror, download, fallback)."""
    _append({"kind": "data", "dataset": dataset, "source": source, "detail": detail})


def read_entries(path: str | os.PathLike[str]) -> tuple[list[Metric], list[dict[str, Any]]]:
    """Read back what `record` and `note_data` wrote: (metrics, data notes)."""
    metrics: list[Metric] = []
    data: list[dict[str, Any]] = []
    p = Path(path)
    if not p.exists():
        return metrics, data
    for line in p.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        entry = json.loads(line)
        kind = entry.pop("kind", "metric")
        if kind == "metric":
            metrics.append(Metric(**entry))
        else:
            data.append(entry)
    return metrics, data
