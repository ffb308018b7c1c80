"""Instructor pipeline with nbgrader: from an LMS download to grades.csv and feedback.

    python -m course_utils grade release [TAREA]          student versions → notebooks/
    python -m course_utils grade collect TAREA RUTA       LMS zip/folder → submitted/
    python -m course_utils grade autograde TAREA          sanitize, then grade each student (sandboxed)
    python -m course_utils grade feedback TAREA           HTML feedback per student
    python -m course_utils grade export TAREA             grades CSV (+ feedback)

Each student is graded by its own `nbgrader autograde --student` process, so a
broken submission never stops the others; student code runs in the kernel of
`course_utils.sandbox`. The course folder is grading/ (or $COURSE_GRADING_DIR).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unicodedata
from dataclasses import asdict, dataclass, field
from pathlib import Path

from nbgrader.plugins import FileNameCollectorPlugin
from traitlets import Unicode

from course_utils import badges
from course_utils.sandbox import MARKER, bwrap_path
from course_utils.sanitize import Ungradable, sanitize_submission

REPO_ROOT = Path(__file__).resolve().parents[1]
GRADED, UNGRADABLE, FAILED = "calificada", "no calificable", "error al calificar"
SANDBOX_RISK = ("⚠️ Sin aislamiento: el código del alumnado se ejecutará con TUS permisos, con acceso a la red, "
                "a grading/source (las soluciones), a gradebook.db y a tus archivos. Úsalo solo con entregas de confianza.")


@dataclass
class StudentResult:
    student: str
    score: float | None
    max_score: float | None
    status: str
    problems: list[str] = field(default_factory=list)


def course_dir() -> Path:
    return Path(os.environ.get("COURSE_GRADING_DIR", REPO_ROOT / "grading")).resolve()


def _nbgrader(args: list[str], cwd: Path, env: dict[str, str] | None = None,
              timeout: float | None = None) -> subprocess.CompletedProcess:
    env = dict(env or os.environ)
    # nbgrader calls `alembic` (database migrations) by name: it must be on PATH.
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    return subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


def _check(proc: subprocess.CompletedProcess, what: str) -> None:
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
        raise RuntimeError(f"nbgrader falló al {what}:\n{tail}")


def assignments(cdir: Path) -> list[str]:
    return sorted(p.name for p in (cdir / "source").iterdir() if p.is_dir() and not p.name.startswith("."))


def module_folder(assignment: str, root: Path = REPO_ROOT) -> Path:
    """tarea_01 → notebooks/01_intro (the module with the same number)."""
    number = re.search(r"\d+", assignment)
    matches = sorted((root / "notebooks").glob(f"{number.group().zfill(2)}_*")) if number else []
    if not matches:
        raise ValueError(f"No hay carpeta de módulo en notebooks/ para la tarea {assignment!r}.")
    return matches[0]


def release(assignment: str | None = None, cdir: Path | None = None, root: Path = REPO_ROOT) -> list[Path]:
    """Generate the student versions with nbgrader and copy them, with badges, into notebooks/."""
    cdir = cdir or course_dir()
    cfg = badges.load_config(root)
    written = []
    for name in [assignment] if assignment else assignments(cdir):
        _check(_nbgrader(["generate_assignment", name, "--force"], cdir), f"generar la tarea {name}")
        for nb in sorted((cdir / "release" / name).glob("*.ipynb")):
            dest = module_folder(name, root) / nb.name
            shutil.copy(nb, dest)
            badges.update_notebook(dest, cfg, root)
            written.append(dest)
    return written


def fix_zip_name(text: str) -> str:
    """Undo the classic zip mojibake: UTF-8 names stored without the UTF-8 flag read as cp437."""
    try:
        return text.encode("cp437").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text


def slug(text: str) -> str:
    """'Ana García Pérez' → 'ana_garcia_perez' (a safe nbgrader student id)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "_", ascii_text.lower()).strip("_") or "sin_nombre"


MOODLE = re.compile(r"^(?P<name>.+?)_(?P<id>\d+)_assignsubmission_\w+?_")
CANVAS = re.compile(r"^(?P<login>[a-z0-9]+)(?:_late)?_(?P<uid>\d+)_(?P<sub>\d+)_", re.IGNORECASE)


class LMSCollector(FileNameCollectorPlugin):
    """nbgrader zip_collect plugin for Moodle and Canvas file names.

    Moodle: 'Ana García_123_assignsubmission_file_/tarea_01.ipynb' (folder or prefix).
    Canvas: 'garciaana_123_456_tarea_01.ipynb' (also '_LATE_'). The file is mapped
    to the assignment's notebook (`notebook`) whatever the student called it.
    """

    notebook = Unicode("", help="Notebook file name of the assignment").tag(config=True)

    def collect(self, submitted_file: str) -> dict | None:
        path = Path(submitted_file)
        if path.suffix not in self.valid_ext:
            return None
        for part in reversed(path.parts):
            if m := MOODLE.match(part):
                name = fix_zip_name(m.group("name")).strip()
                first, _, last = name.partition(" ")
                return {"student_id": slug(name), "file_id": self.notebook or path.name,
                        "first_name": first, "last_name": last}
            if m := CANVAS.match(part):
                return {"student_id": slug(m.group("login")), "file_id": self.notebook or path.name}
        self.log.warning("Nombre de archivo no reconocido (ni Moodle ni Canvas): %s", submitted_file)
        return None


def _is_plain_layout(folder: Path) -> bool:
    subdirs = [p for p in folder.iterdir() if p.is_dir()]
    return bool(subdirs) and not any(MOODLE.match(p.name) or CANVAS.match(p.name) for p in subdirs) \
        and all(p.suffix != ".ipynb" for p in folder.iterdir() if p.is_file())


def collect(assignment: str, source: Path, cdir: Path | None = None) -> list[str]:
    """Import submissions into submitted/<student>/<assignment>/; return the student ids."""
    cdir = cdir or course_dir()
    source = Path(source).resolve()
    if not source.exists():
        raise FileNotFoundError(f"No existe {source}.")
    notebooks = sorted(p.name for p in (cdir / "source" / assignment).glob("*.ipynb"))
    if not notebooks:
        raise ValueError(f"La tarea {assignment!r} no existe en {cdir / 'source'}.")
    target = notebooks[0] if len(notebooks) == 1 else ""
    if source.is_dir() and _is_plain_layout(source):
        students = []
        for student_dir in sorted(p for p in source.iterdir() if p.is_dir()):
            files = sorted(student_dir.glob("*.ipynb"))
            dest = cdir / "submitted" / slug(student_dir.name) / assignment
            dest.mkdir(parents=True, exist_ok=True)
            for nb in files:
                shutil.copy(nb, dest / (target if target and len(files) == 1 else nb.name))
            students.append(slug(student_dir.name))
        return students
    archive = cdir / "downloaded" / assignment / "archive"
    shutil.rmtree(cdir / "downloaded" / assignment, ignore_errors=True)
    if source.is_dir():
        shutil.copytree(source, archive)
    else:
        archive.mkdir(parents=True)
        shutil.copy(source, archive / source.name)
    before = {p.name for p in (cdir / "submitted").glob("*")} if (cdir / "submitted").is_dir() else set()
    _check(_nbgrader(["zip_collect", assignment, "--force",
                      "--ZipCollectApp.collector_plugin=course_utils.grade.LMSCollector",
                      f"--LMSCollector.notebook={target}"], cdir), "recoger las entregas")
    after = {p.name for p in (cdir / "submitted").glob("*") if (p / assignment).is_dir()}
    return sorted(after - before) or sorted(after)


def _kernel_env(runtime: Path) -> dict[str, str]:
    """Environment for nbgrader so that its `python3` kernel is the sandboxed one."""
    spec = runtime / "kernels" / "python3"
    spec.mkdir(parents=True, exist_ok=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "course_utils.sandbox", "-f", "{connection_file}"],
        "display_name": "Python 3 (aislado)", "language": "python", "interrupt_mode": "message"}))
    (runtime / MARKER).touch()
    env = os.environ.copy()
    env.update({"JUPYTER_PATH": str(runtime) + os.pathsep + env.get("JUPYTER_PATH", ""),
                "JUPYTER_RUNTIME_DIR": str(runtime), "TMPDIR": str(runtime)})
    return env


def _failure_reason(log: str) -> str:
    """One Spanish line saying why nbgrader could not grade a submission."""
    if "DeadKernelError" in log or "Kernel died" in log:
        return "el núcleo (kernel) murió durante la ejecución (¿os._exit, falta de memoria, fallo de C?)"
    if "Timeout waiting for IOPub" in log or "Kernel didn't respond" in log or "UnresponsiveKernelError" in log:
        return ("el núcleo (kernel) dejó de responder a mitad de la ejecución "
                "(¿procesos creados con fork, hilos bloqueados?)")
    if "CellTimeoutError" in log:
        return "una celda superó el tiempo máximo y no se pudo interrumpir"
    errors = [ln for ln in log.splitlines() if "| ERROR]" in ln and "Please see" not in ln]
    return (errors[-1] if errors else "error desconocido (mira grading/logs/)")[:300]


def _db_url(cdir: Path) -> str:
    """The gradebook URL, as grading/nbgrader_config.py computes it."""
    return os.environ.get("NBGRADER_DB_URL", f"sqlite:///{cdir / 'gradebook.db'}")


def _scores(cdir: Path, assignment: str) -> dict[str, tuple[float, float]] | None:
    """{student: (score, max)} for `assignment`, or None when the gradebook does not know it."""
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(_db_url(cdir)) as gb:
        try:
            subs = gb.find_assignment(assignment).submissions
        except MissingEntry:
            return None
        return {s.student_id: (float(s.score), float(s.max_score)) for s in subs}


def autograde(assignment: str, cdir: Path | None = None, sandbox: bool = True, timeout: int | None = None,
              student_timeout: int = 1200, students: list[str] | None = None) -> list[StudentResult]:
    """Sanitize and grade every submission of `assignment`, one nbgrader process per student."""
    cdir = cdir or course_dir()
    if sandbox and bwrap_path() is None:
        raise RuntimeError("bubblewrap (bwrap) no está disponible: no se puede aislar el código del alumnado. "
                           "Instálalo (apt-get install bubblewrap) o usa --no-sandbox (mira el riesgo en el README).")
    if not sandbox:
        print(SANDBOX_RISK, file=sys.stderr)
    if _scores(cdir, assignment) is None:  # first grading on this machine: register the assignment
        _check(_nbgrader(["generate_assignment", assignment, "--force"], cdir), f"registrar la tarea {assignment}")
    submitted = cdir / "submitted"
    names = students or sorted(p.name for p in submitted.iterdir() if (p / assignment).is_dir())
    runtime = Path(tempfile.mkdtemp(prefix="calificar-"))
    env = _kernel_env(runtime) if sandbox else None
    results = []
    try:
        for student in names:
            results.append(_grade_one(cdir, assignment, student, runtime, env, timeout, student_timeout))
    finally:
        shutil.rmtree(runtime, ignore_errors=True)
    scores = _scores(cdir, assignment) or {}
    for r in results:
        if r.status == GRADED and r.student in scores:
            r.score, r.max_score = scores[r.student]
    (cdir / f"resumen_{assignment}.json").write_text(
        json.dumps([asdict(r) for r in results], indent=2, ensure_ascii=False), encoding="utf-8")
    return results


def _grade_one(cdir: Path, assignment: str, student: str, runtime: Path, env: dict[str, str] | None,
               timeout: int | None, student_timeout: int) -> StudentResult:
    """Sanitize and grade one student; `env` is the sandbox environment (None: no sandbox)."""
    folder = cdir / "submitted" / student / assignment
    try:
        problems = sanitize_submission(folder, cdir / "originals" / assignment / student)
    except Ungradable as e:
        return StudentResult(student, None, None, UNGRADABLE, [str(e)])
    args = ["autograde", assignment, "--student", student, "--force"]
    if timeout:
        args.append(f"--Execute.timeout={timeout}")
    if env is not None:
        args += ["--KernelManager.transport=ipc", f"--KernelManager.ip={runtime / slug(student)}-ipc"]
    try:
        proc = _nbgrader(args, cdir, env, timeout=student_timeout)
    except subprocess.TimeoutExpired:
        return StudentResult(student, None, None, FAILED, problems + [f"superó {student_timeout} s en total"])
    log = proc.stdout + proc.stderr
    log_file = cdir / "logs" / assignment / f"{student}.log"
    log_file.parent.mkdir(parents=True, exist_ok=True)
    log_file.write_text(log, encoding="utf-8")
    if proc.returncode != 0 or "There was an error processing" in log:
        return StudentResult(student, None, None, FAILED, problems + [_failure_reason(log)])
    if "CellTimeoutError" in log or "Timeout waiting for execute reply" in log:
        problems.append("alguna celda superó el tiempo máximo y se interrumpió")
    return StudentResult(student, None, None, GRADED, problems)


def feedback(assignment: str, cdir: Path | None = None) -> Path:
    cdir = cdir or course_dir()
    _check(_nbgrader(["generate_feedback", assignment, "--force"], cdir), "generar la retroalimentación")
    return cdir / "feedback"


def export(assignment: str, cdir: Path | None = None, output: Path | None = None) -> Path:
    """Write the grades CSV (student, score, max, status, problems) for `assignment`."""
    import csv

    cdir = cdir or course_dir()
    output = output or cdir / f"notas_{assignment}.csv"
    summary_file = cdir / f"resumen_{assignment}.json"
    summary = {r["student"]: r for r in json.loads(summary_file.read_text())} if summary_file.exists() else {}
    scores = _scores(cdir, assignment) or {}
    with open(output, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["alumno", "tarea", "puntos", "maximo", "estado", "problemas"])
        for student in sorted(set(scores) | set(summary)):
            row = summary.get(student, {})
            status = row.get("status", GRADED)
            score, max_score = scores.get(student, (None, None)) if status == GRADED else (None, None)
            writer.writerow([student, assignment, "" if score is None else f"{score:g}",
                             "" if max_score is None else f"{max_score:g}", status, "; ".join(row.get("problems", []))])
    return output


def summary_table(results: list[StudentResult]) -> str:
    """Spanish table for the terminal."""
    lines = [f"{'alumno':<28} {'puntos':>8} {'máx':>5}  {'estado':<20} problemas", "-" * 90]
    for r in results:
        score = "—" if r.score is None else f"{r.score:g}"
        top = "—" if r.max_score is None else f"{r.max_score:g}"
        lines.append(f"{r.student:<28} {score:>8} {top:>5}  {r.status:<20} {'; '.join(r.problems) or '—'}")
    return "\n".join(lines)
