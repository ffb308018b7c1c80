"""Instructor pipeline with nbgrader: from an LMS download to grades.csv and feedback.

    python -m course_utils grade release [TAREA]          student versions → notebooks/
    python -m course_utils grade collect TAREA RUTA       LMS zip/folder → submitted/
    python -m course_utils grade autograde TAREA [--jobs N]   sanitize, then grade each student (sandboxed)
    python -m course_utils grade feedback TAREA           HTML feedback per student
    python -m course_utils grade export TAREA [--moodle HOJA.csv] [--canvas LIBRO.csv]
                                                          feedback, grades CSV, files for the LMS (export.py)

Each student is graded by its own `nbgrader autograde --student` process (N at a time), so a
broken submission never stops the others; student code runs in the kernel of
`course_utils.grading.sandbox`. The course folder is grading/ (or $COURSE_GRADING_DIR).
Who each student is (name, LMS id) is read from the LMS download by `collect` and kept in the
gradebook (first/last name, lms_user_id).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

from course_utils import badges
from course_utils.grading import COURSE_ID
from course_utils.grading.lms import CANVAS, MOODLE, Identity, identify, slug
from course_utils.grading.gradebook import db_url, ensure_gradebook, scores, tools_on_path
from course_utils.grading.guard import SPEC_ENV
from course_utils.grading.sandbox import MARKER, bwrap_path
from course_utils.grading.sanitize import Ungradable, sanitize_submission
from course_utils.grading.verdict import TAMPER_NOTE, notebook_spec, tampering

REPO_ROOT = Path(__file__).resolve().parents[2]
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
    tampering: list[str] = field(default_factory=list)  # what the guard saw replaced (empty: nothing)


def course_dir() -> Path:
    return Path(os.environ.get("COURSE_GRADING_DIR", REPO_ROOT / "grading")).resolve()


def _nbgrader(args: list[str], cwd: Path, env: dict[str, str] | None = None,
              timeout: float | None = None) -> subprocess.CompletedProcess:
    tools_on_path()
    env = dict(env or os.environ)
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
    ensure_gradebook(cdir)
    if source.is_dir() and _is_plain_layout(source):
        people = []
        for student_dir in sorted(p for p in source.iterdir() if p.is_dir()):
            files = sorted(student_dir.glob("*.ipynb"))
            first, _, last = student_dir.name.strip().partition(" ")
            who = Identity(slug(student_dir.name), first, last, "")
            dest = cdir / "submitted" / who.student_id / assignment
            dest.mkdir(parents=True, exist_ok=True)
            for nb in files:
                shutil.copy(nb, dest / (target if target and len(files) == 1 else nb.name))
            people.append(who)
        _remember(cdir, people)
        return [p.student_id for p in people]
    archive = cdir / "downloaded" / assignment / "archive"
    shutil.rmtree(cdir / "downloaded" / assignment, ignore_errors=True)
    if source.is_dir():
        shutil.copytree(source, archive)
    else:
        archive.mkdir(parents=True)
        shutil.copy(source, archive / source.name)
    before = {p.name for p in (cdir / "submitted").glob("*")} if (cdir / "submitted").is_dir() else set()
    _check(_nbgrader(["zip_collect", assignment, "--force",
                      "--ZipCollectApp.collector_plugin=course_utils.grading.lms.LMSCollector",
                      f"--LMSCollector.notebook={target}"], cdir), "recoger las entregas")
    found = {who.student_id: who for folder in ("archive", "extracted")
             for f in sorted((cdir / "downloaded" / assignment / folder).rglob("*.ipynb"))
             if (who := identify(f.relative_to(cdir / "downloaded" / assignment / folder)))}
    _remember(cdir, list(found.values()))
    after = {p.name for p in (cdir / "submitted").glob("*") if (p / assignment).is_dir()}
    return sorted(after - before) or sorted(after)


def _remember(cdir: Path, people: list[Identity]) -> None:
    """Keep name and LMS id of each student in the gradebook (shown in notas_*.csv, used by export)."""
    from nbgrader.api import Gradebook

    with Gradebook(db_url(cdir), course_id=COURSE_ID) as gb:
        for who in people:
            gb.update_or_create_student(who.student_id, first_name=who.first_name, last_name=who.last_name,
                                        lms_user_id=who.lms_id or None)


def _kernel_env(runtime: Path, sandbox: bool, guard_spec: dict) -> dict[str, str]:
    """Environment for nbgrader so that its `python3` kernel is the guarded one, sandboxed unless told not."""
    spec = runtime / "kernels" / "python3"
    spec.mkdir(parents=True, exist_ok=True)
    module = "course_utils.grading.sandbox" if sandbox else "course_utils.grading.guard"
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", module, "-f", "{connection_file}"],
        "display_name": "Python 3 (aislado)", "language": "python", "interrupt_mode": "message"}))
    (runtime / MARKER).touch()
    env = os.environ.copy()
    env.update({"JUPYTER_PATH": str(runtime) + os.pathsep + env.get("JUPYTER_PATH", ""),
                "JUPYTER_RUNTIME_DIR": str(runtime), "TMPDIR": str(runtime), SPEC_ENV: json.dumps(guard_spec)})
    return env


def guard_spec(assignment: str, cdir: Path) -> dict:
    """What the guarded kernel watches for this assignment (from its source's locked cells)."""
    import nbformat

    spec: dict = {"modules": [], "aliases": {}}
    for path in sorted((cdir / "source" / assignment).glob("*.ipynb")):
        one = notebook_spec(nbformat.read(path, as_version=4))
        spec["modules"] = sorted(set(spec["modules"]) | set(one["modules"]))
        spec["aliases"].update(one["aliases"])
    return spec


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


def autograde(assignment: str, cdir: Path | None = None, sandbox: bool = True, timeout: int | None = None,
              student_timeout: int = 1200, students: list[str] | None = None,
              jobs: int | None = None) -> list[StudentResult]:
    """Sanitize and grade every submission of `assignment`, `jobs` students at a time (default: one per core).

    Each student has its own nbgrader process and sandboxed kernel, as with one job; results come
    back sorted by student.
    """
    cdir = cdir or course_dir()
    if sandbox and bwrap_path() is None:
        raise RuntimeError("bubblewrap (bwrap) no está disponible: no se puede aislar el código del alumnado. "
                           "Instálalo (apt-get install bubblewrap) o usa --no-sandbox (mira el riesgo en el README).")
    if not sandbox:
        print(SANDBOX_RISK, file=sys.stderr)
    ensure_gradebook(cdir)
    if scores(cdir, assignment) is None:  # first grading on this machine: register the assignment
        _check(_nbgrader(["generate_assignment", assignment, "--force"], cdir), f"registrar la tarea {assignment}")
    submitted = cdir / "submitted"
    names = sorted(students or (p.name for p in submitted.iterdir() if (p / assignment).is_dir()))
    runtime = Path(tempfile.mkdtemp(prefix="calificar-"))
    env = _kernel_env(runtime, sandbox, guard_spec(assignment, cdir))
    jobs = max(1, jobs or os.cpu_count() or 1)
    try:
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            results = list(pool.map(
                lambda student: _grade_one(cdir, assignment, student, runtime, env, sandbox, timeout, student_timeout),
                names))
    finally:
        shutil.rmtree(runtime, ignore_errors=True)
    graded = scores(cdir, assignment) or {}
    for r in results:
        if r.status == GRADED and r.student in graded:
            r.score, r.max_score = graded[r.student]
    (cdir / f"resumen_{assignment}.json").write_text(
        json.dumps([asdict(r) for r in results], indent=2, ensure_ascii=False), encoding="utf-8")
    return results


def _grade_one(cdir: Path, assignment: str, student: str, runtime: Path, env: dict[str, str], sandbox: bool,
               timeout: int | None, student_timeout: int) -> StudentResult:
    """Sanitize and grade one student in the guarded kernel of `env`."""
    folder = cdir / "submitted" / student / assignment
    try:
        problems = sanitize_submission(folder, cdir / "originals" / assignment / student)
    except Ungradable as e:
        return StudentResult(student, None, None, UNGRADABLE, [str(e)])
    args = ["autograde", assignment, "--student", student, "--force", "--GuardVerdict.required=True"]
    if timeout:
        args.append(f"--Execute.timeout={timeout}")
    if sandbox:  # the sandboxed kernel has no network: ZeroMQ over IPC sockets in the runtime folder
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
    changed = _tampering(cdir / "autograded" / student / assignment)
    if changed:
        problems.append(f"{TAMPER_NOTE} (reemplazado: {', '.join(changed[:6])}{' …' if len(changed) > 6 else ''})")
    return StudentResult(student, None, None, GRADED, problems, changed)


def _tampering(folder: Path) -> list[str]:
    """What the guard saw replaced, over the autograded notebooks of one submission."""
    import nbformat

    return sorted({name for path in folder.glob("*.ipynb") for name in tampering(nbformat.read(path, as_version=4))})


def feedback(assignment: str, cdir: Path | None = None) -> Path:
    """Spanish HTML feedback per student (feedback/<alumno>/<tarea>/), without hidden tests."""
    cdir = cdir or course_dir()
    ensure_gradebook(cdir)
    _check(_nbgrader(["generate_feedback", assignment, "--force"], cdir), "generar la retroalimentación")
    return cdir / "feedback"


def summary_table(results: list[StudentResult]) -> str:
    """Spanish table for the terminal (rows in the order given: autograde sorts them by student)."""
    lines = [f"{'alumno':<28} {'puntos':>8} {'máx':>5}  {'estado':<20} problemas", "-" * 90]
    for r in results:
        score = "—" if r.score is None else f"{r.score:g}"
        top = "—" if r.max_score is None else f"{r.max_score:g}"
        lines.append(f"{r.student:<28} {score:>8} {top:>5}  {r.status:<20} {'; '.join(r.problems) or '—'}")
    return "\n".join(lines)
