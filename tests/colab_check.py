"""The student's Colab path, executed: `make colab-check` (a maintainer tool, not part of `make test`).

What a student gets from "Abrir en Colab", reproduced on this machine:

1. A separate virtual environment, `.venv-colab`, with only what Colab ships
   (`tests/colab-requirements.txt`: torch, tensorflow, keras, transformers, scikit-learn, matplotlib,
   numpy, pandas, scipy, tqdm, ipywidgets 7.7.x …) plus a stand-in `google.colab` module that the
   kernel imports at start-up, as Colab's does. No course_utils, papermill, nbgrader, mlxtend or onnx.
2. Each notebook's first cell then installs course_utils (and whatever else it asks for) itself,
   with its own pip line, pointed at a copy of this repository instead of GitHub.
3. Every lesson runs in quick mode; every assignment runs as a student who solved it would run it
   (the student version with the official solutions pasted in): its visible tests must pass.

Without network, data comes from ../shared/data (as COURSE_DATA_MIRROR) when present; Colab itself
downloads. A cell that takes longer than the per-cell limit fails the notebook (no hang: each
notebook also has a total limit). Prints a table and writes build/colab-check.json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[1]
VENV = REPO / ".venv-colab"
REQUIREMENTS = Path(__file__).with_name("colab-requirements.txt")
STUB = Path(__file__).with_name("colab_stub")
KERNEL = "colab-check"
SHARED_DATA = REPO.parent / "shared" / "data"
INSTALL = re.compile(r"course_utils @ git\+https://github\.com/[\w.-]+/[\w.-]+(?:\.git)?@[\w./-]+")

# Import names of what Colab ships (tests/test_notebooks.py checks that a notebook installs anything else).
COLAB_MODULES = {
    "numpy", "scipy", "pandas", "matplotlib", "sklearn", "torch", "tensorflow", "keras", "transformers", "tqdm",
    "ipywidgets", "IPython", "PIL", "tensorboard", "threadpoolctl", "joblib", "google", "requests", "course_utils",
    "statsmodels", "tokenizers", "huggingface_hub", "safetensors",  # the last three come with transformers
}


def python_in_venv() -> Path:
    return VENV / "bin" / "python"


def build_venv() -> None:
    """Create .venv-colab with Colab's packages only (kept between runs; course_utils removed each run)."""
    stamp = VENV / ".colab-installed"
    if not stamp.exists() or stamp.stat().st_mtime < REQUIREMENTS.stat().st_mtime:
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True)
        pip = [str(python_in_venv()), "-m", "pip", "install", "-q"]
        subprocess.run(pip + ["--upgrade", "pip"], check=True)
        subprocess.run(pip + ["-r", str(REQUIREMENTS)], check=True)
        subprocess.run(pip + [str(STUB)], check=True)
        stamp.touch()
    # course_utils must come from the notebooks' own first cell, every time.
    subprocess.run([str(python_in_venv()), "-m", "pip", "uninstall", "-q", "-y", "course_utils"],
                   check=False, capture_output=True)


def kernelspec(folder: Path) -> Path:
    """A kernelspec that starts the Colab venv's Python and imports google.colab first, as Colab does."""
    spec = folder / "kernels" / KERNEL
    spec.mkdir(parents=True, exist_ok=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [str(python_in_venv()), "-m", "ipykernel_launcher", "-f", "{connection_file}",
                 "--IPKernelApp.exec_lines=['import google.colab']"],
        "display_name": "Colab (comprobación)", "language": "python"}))
    return folder


def snapshot_repo(dest: Path) -> Path:
    """A copy of the working tree (what `pip install course_utils @ …` gets), without venvs, data or builds."""
    top = {".git", ".venv", ".venv-colab", "build", "data", "runs", "grading"}

    def ignore(folder: str, names: list[str]) -> set[str]:
        skip = {n for n in names if n == "__pycache__" or n.endswith(".egg-info")}
        return skip | (top & set(names) if Path(folder) == REPO else set())

    shutil.copytree(REPO, dest, ignore=ignore)
    return dest


def solved_student_version(assignment: Path) -> nbformat.NotebookNode:
    """The released notebook with the official solutions pasted into its solution cells."""
    source = nbformat.read(REPO / "grading" / "source" / assignment.stem / assignment.name, as_version=4)
    solutions = {c.metadata["nbgrader"]["grade_id"]: c.source for c in source.cells
                 if c.metadata.get("nbgrader", {}).get("solution")}
    nb = nbformat.read(assignment, as_version=4)
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid in solutions:
            cell.source = re.sub(r"^\s*### (BEGIN|END) SOLUTION\n", "", solutions[gid], flags=re.M)
    return nb


def prepare(path: Path, work: Path, repo_copy: Path) -> Path:
    """The notebook as Colab would run it, its install line pointed at the local copy."""
    nb = solved_student_version(path) if path.stem.startswith("tarea_") else nbformat.read(path, as_version=4)
    first = next(c for c in nb.cells if c.cell_type == "code")
    if not INSTALL.search(first.source):
        raise ValueError(f"{path.name}: la primera celda no instala course_utils desde el repositorio")
    first.source = INSTALL.sub(f"course_utils @ file://{repo_copy}", first.source)
    out = work / path.parent.name / path.name
    out.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, out)
    return out


def run_one(path: Path, work: Path, repo_copy: Path, cell_timeout: int, total_timeout: int) -> dict:
    """Execute one notebook in the Colab kernel in its own process (a hang cannot stop the others)."""
    prepared = prepare(path, work, repo_copy)
    executed = prepared.with_name(prepared.stem + ".ejecutado.ipynb")
    params = {"QUICK": True} if not path.stem.startswith("tarea_") else {}
    code = ("import papermill as pm, sys, json\n"
            f"pm.execute_notebook({str(prepared)!r}, {str(executed)!r}, kernel_name={KERNEL!r}, "
            f"parameters={params!r}, cwd={str(prepared.parent)!r}, progress_bar=False, "
            f"execution_timeout={cell_timeout})\n")
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=os.environ | {"JUPYTER_PATH": str(work / "jupyter")}, start_new_session=True)
    try:
        log, _ = proc.communicate(timeout=total_timeout)
        ok, detail = proc.returncode == 0, _error(log)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # papermill and its kernel
        proc.communicate()
        ok, detail = False, f"superó {total_timeout} s en total"
    seconds = time.perf_counter() - start
    return {"notebook": path.relative_to(REPO / "notebooks").as_posix(), "ok": ok, "seconds": round(seconds, 1),
            "error": "" if ok else detail}


def _error(log: str) -> str:
    lines = [ln for ln in log.splitlines() if ln.strip()]
    named = [ln for ln in lines if re.match(r"^\w*(Error|Exception)\b", ln) or "Error:" in ln]
    return (named or lines or ["error desconocido"])[-1][:300]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Ejecuta el curso como en Colab (entorno solo con lo que trae Colab).")
    parser.add_argument("--only", help="solo los cuadernos cuya ruta contiene este texto")
    parser.add_argument("--cell-timeout", type=int, default=120, help="segundos máximos por celda")
    parser.add_argument("--total-timeout", type=int, default=480, help="segundos máximos por cuaderno")
    args = parser.parse_args(argv)
    notebooks = sorted(p for p in (REPO / "notebooks").glob("[0-9][0-9]_*/*.ipynb")
                       if not args.only or args.only in p.as_posix())
    t0 = time.perf_counter()
    build_venv()
    setup_s = time.perf_counter() - t0
    if SHARED_DATA.is_dir() and "COURSE_DATA_MIRROR" not in os.environ:
        os.environ["COURSE_DATA_MIRROR"] = str(SHARED_DATA)
    results = []
    with tempfile.TemporaryDirectory(prefix="colab-check-") as tmp:
        work = Path(tmp)
        kernelspec(work / "jupyter")
        repo_copy = snapshot_repo(work / "repo")
        for path in notebooks:
            r = run_one(path, work, repo_copy, args.cell_timeout, args.total_timeout)
            results.append(r)
            print(f"{'✅' if r['ok'] else '❌'} {r['notebook']:<58} {r['seconds']:>6.1f} s  {r['error']}", flush=True)
    total = time.perf_counter() - t0
    failed = [r for r in results if not r["ok"]]
    print(f"{len(results) - len(failed)}/{len(results)} cuadernos bien en el entorno de Colab; "
          f"preparación del entorno {setup_s:.0f} s, total {total:.0f} s.")
    out = REPO / "build" / "colab-check.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"setup_seconds": round(setup_s, 1), "total_seconds": round(total, 1),
                               "results": results}, indent=2, ensure_ascii=False), encoding="utf-8")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
