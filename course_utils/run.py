"""Run the course: every lesson notebook, in order, with papermill; then a report.

    python -m course_utils run [--quick] [--device auto|cpu|cuda] [--only PATTERN]

Each notebook runs in its own folder (cwd) with the parameters QUICK, DEVICE and
SEED. Executed copies go to build/executed/, figures to build/figures/, and the
report to build/report.md and build/report.json: per notebook its status, wall
time, device, the data it used and its recorded metrics against their targets.
The exit code is non-zero when a notebook fails or a target is missed.
"""

from __future__ import annotations

import fnmatch
import json
import os
import platform
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from course_utils.report import Metric, read_entries
from course_utils.setup import DEVICES, versions

REPO_ROOT = Path(__file__).resolve().parents[1]
OK, FAILED, MISSED = "ok", "fallo", "objetivo no cumplido"


@dataclass
class NotebookResult:
    notebook: str
    status: str
    seconds: float
    device: str
    metrics: list[Metric] = field(default_factory=list)
    data: list[dict[str, Any]] = field(default_factory=list)
    error: str = ""


def discover(notebooks_dir: Path, only: str | None = None) -> list[Path]:
    """Lesson notebooks in course order (module folder, then file name); assignments excluded."""
    found = []
    for path in sorted(notebooks_dir.glob("[0-9][0-9]_*/[0-9][0-9]_*.ipynb")):
        rel = path.relative_to(notebooks_dir).as_posix()
        if only and not (fnmatch.fnmatch(rel, only) or only in rel):
            continue
        found.append(path)
    return found


def machine_info(device: str) -> dict[str, Any]:
    """CPU model, cores, GPU (when the device is cuda) and library versions."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    gpu = None
    if device == "cuda":
        import torch

        gpu = f"{torch.cuda.get_device_name(0)} × {torch.cuda.device_count()}"
    return {"cpu": cpu, "cores": os.cpu_count(), "gpu": gpu, "platform": platform.platform(), "versions": versions()}


def resolve_device(device: str) -> str:
    """Like setup.choose_device, but imported lazily so `--help` stays fast."""
    from course_utils.setup import choose_device

    return choose_device(device)


def _short_error(exc: BaseException) -> str:
    ename, evalue = getattr(exc, "ename", None), getattr(exc, "evalue", None)
    cell = getattr(exc, "exec_count", None)
    if ename:
        where = f" (celda {cell})" if cell else ""
        return f"{ename}: {evalue}{where}"
    return f"{type(exc).__name__}: {exc}"


def run_notebook(
    path: Path, build: Path, quick: bool, device: str, seed: int = 0, timeout: int | None = None
) -> NotebookResult:
    """Execute one notebook with papermill and collect what it recorded."""
    import papermill as pm

    rel = path.relative_to(path.parents[1])
    executed = build / "executed" / rel
    metrics_file = build / "metrics" / rel.with_suffix(".jsonl")
    figures = build / "figures" / rel.with_suffix("")
    executed.parent.mkdir(parents=True, exist_ok=True)
    metrics_file.parent.mkdir(parents=True, exist_ok=True)
    metrics_file.unlink(missing_ok=True)
    env = {"COURSE_REPORT_FILE": str(metrics_file), "COURSE_FIGURE_DIR": str(figures), "COURSE_HEADLESS": "1"}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    start = time.perf_counter()
    status, error = OK, ""
    try:
        pm.execute_notebook(
            str(path), str(executed),
            parameters={"QUICK": quick, "DEVICE": device, "SEED": seed},
            kernel_name="python3", cwd=str(path.parent),
            execution_timeout=timeout, progress_bar=False, log_output=False,
        )
    except Exception as exc:  # papermill raises for any failing cell; the report keeps the reason
        status, error = FAILED, _short_error(exc)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    seconds = time.perf_counter() - start
    metrics, data = read_entries(metrics_file)
    if status == OK and any(m.met is False for m in metrics):
        status = MISSED
    return NotebookResult(rel.as_posix(), status, round(seconds, 2), device, metrics, data, error)


def _one_thread() -> None:
    """Worker initializer: the kernels started from here use one CPU thread (COURSE_THREADS, OMP)."""
    os.environ["COURSE_THREADS"] = "1"
    os.environ["OMP_NUM_THREADS"] = "1"


def _run_side_by_side(paths: list[Path], jobs: int, bar: Any, *args: Any) -> list[NotebookResult]:
    """Run notebooks `jobs` at a time in separate processes; results in course order.

    Two kernels with PyTorch's default of one thread per core on a 2-core machine are up to 50x
    slower on small models than two one-thread kernels (docs/benchmarks.md), so each kernel gets
    one thread (`course_utils.setup.set_threads`).
    """
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from multiprocessing import get_context

    with ProcessPoolExecutor(jobs, mp_context=get_context("spawn"), initializer=_one_thread) as pool:
        futures = {pool.submit(run_notebook, path, *args): path for path in paths}
        done: dict[Path, NotebookResult] = {}
        for future in as_completed(futures):
            done[futures[future]] = future.result()
            bar.set_postfix_str(futures[future].name)
            bar.update()
    return [done[path] for path in paths]


def _data_text(data: list[dict[str, Any]]) -> str:
    seen = []
    for d in data:
        text = f"{d['dataset']} ({d['source']}{' ⚠️' if d['source'] == 'fallback' else ''})"
        if text not in seen:
            seen.append(text)
    return ", ".join(seen) or "—"


def to_markdown(report: dict[str, Any]) -> str:
    """Spanish Markdown version of the JSON report."""
    m = report["machine"]
    lines = [
        "# Informe de ejecución del curso",
        "",
        f"- Fecha: {report['date']} · modo: {'rápido (QUICK)' if report['quick'] else 'completo'} · "
        f"dispositivo: {report['device']}",
        f"- Máquina: {m['cpu']} · {m['cores']} núcleos · GPU: {m['gpu'] or 'ninguna'}",
        "- Versiones: " + ", ".join(f"{k} {v}" for k, v in m["versions"].items()),
        f"- Resultado: {report['summary']}",
        "",
        "| Cuaderno | Estado | Tiempo (s) | Dispositivo | Datos |",
        "|---|---|---:|---|---|",
    ]
    for r in report["notebooks"]:
        mark = {OK: "✅", MISSED: "⚠️", FAILED: "❌"}[r["status"]]
        lines.append(f"| {r['notebook']} | {mark} {r['status']} | {r['seconds']:.1f} | {r['device']} | "
                     f"{_data_text(r['data'])} |")
    lines += ["", "## Métricas y objetivos", "", "| Cuaderno | Métrica | Valor | Objetivo | ¿Cumple? |",
              "|---|---|---:|---:|---|"]
    for r in report["notebooks"]:
        for mt in r["metrics"]:
            metric = Metric(**mt)
            target = "—" if metric.target is None else f"{'≥' if metric.higher_is_better else '≤'} {metric.target:.4g}"
            met = {True: "✅", False: "❌", None: "—"}[metric.met]
            lines.append(f"| {r['notebook']} | {metric.name} | {metric.value:.4g}{metric.unit} | {target} | {met} |")
    errors = [r for r in report["notebooks"] if r["error"]]
    if errors:
        lines += ["", "## Errores", ""] + [f"- **{r['notebook']}**: `{r['error']}`" for r in errors]
    return "\n".join(lines) + "\n"


def run_course(
    quick: bool = False,
    device: str = "auto",
    only: str | None = None,
    seed: int = 0,
    timeout: int | None = None,
    notebooks_dir: Path | None = None,
    build: Path | None = None,
    progress: bool = True,
    jobs: int = 1,
) -> dict[str, Any]:
    """Run every selected notebook, write build/report.{json,md} and return the report dict.

    jobs > 1 runs that many notebooks at a time, each kernel with one CPU thread (see
    `_run_side_by_side`): faster in total, but each notebook's time is no longer its own.
    """
    from tqdm.auto import tqdm

    if device not in DEVICES:
        raise ValueError(f"--device debe ser uno de {DEVICES}, no {device!r}.")
    notebooks_dir = notebooks_dir or REPO_ROOT / "notebooks"
    build = build or REPO_ROOT / "build"
    paths = discover(notebooks_dir, only)
    if not paths:
        raise FileNotFoundError(f"No hay cuadernos que ejecutar en {notebooks_dir} (filtro: {only!r}).")
    chosen = resolve_device(device)
    timeout = timeout or (300 if quick else 1800)
    bar = tqdm(total=len(paths), desc="cuadernos", unit="cuaderno", disable=not progress)
    if jobs <= 1:
        results = []
        for path in paths:
            bar.set_postfix_str(path.name)
            results.append(run_notebook(path, build, quick, chosen, seed, timeout))
            bar.update()
    else:
        results = _run_side_by_side(paths, jobs, bar, build, quick, chosen, seed, timeout)
    bar.close()
    counts = {s: sum(r.status == s for r in results) for s in (OK, MISSED, FAILED)}
    report = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "quick": quick,
        "device": chosen,
        "machine": machine_info(chosen),
        "total_seconds": round(sum(r.seconds for r in results), 2),
        "summary": f"{counts[OK]} correctos, {counts[MISSED]} con objetivos no cumplidos, {counts[FAILED]} fallidos "
                   f"de {len(results)} cuadernos",
        "ok": counts[OK] == len(results),
        "notebooks": [asdict(r) for r in results],
    }
    build.mkdir(parents=True, exist_ok=True)
    (build / "report.json").write_text(json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8")
    (build / "report.md").write_text(to_markdown(report), encoding="utf-8")
    return report
