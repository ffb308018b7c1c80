"""The grading pipeline end to end: release, collect, sanitize, sandboxed autograde, export.

One batch mixes honest and hostile submissions (design §6, issue "Autograded
assignments"): each must get its correct score or a clear failure line, and the
honest ones must be graded correctly, while sources, gradebook and other
students' files stay untouched.
"""

from __future__ import annotations

import copy
import csv
import os
import re
import subprocess
import sys
import hashlib
import json
import shutil
import socket
import threading
from pathlib import Path

import nbformat
import pytest

from course_utils.grading import export, grade, gradebook, lms
from course_utils.grading.feedback import HIDDEN_BEGIN
from course_utils.grading.verdict import TAMPER_NOTE, notebook_spec
from course_utils.grading.sandbox import bwrap_path
from course_utils.grading.sanitize import Ungradable, sanitize_notebook

REPO_ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENTS = grade.assignments(REPO_ROOT / "grading")
ASSIGNMENT = "tarea_01"  # the full hostile batch and the collector tests use this one
SOURCE = REPO_ROOT / "grading" / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
# Per-cell timeout while grading in the tests (an infinite loop costs this much); assignments
# with a training exercise need more than tarea_01's NumPy-only cells.
TIMEOUTS = {"tarea_01": 10}
DEFAULT_TIMEOUT = 45
needs_sandbox = pytest.mark.skipif(bwrap_path() is None, reason="bubblewrap not available")


def _source(assignment: str) -> Path:
    return REPO_ROOT / "grading" / "source" / assignment / f"{assignment}.ipynb"


def _points(assignment: str) -> dict[str, int]:
    nb = nbformat.read(_source(assignment), as_version=4)
    out: dict[str, int] = {}
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade"):
            ex = meta["grade_id"].split("-")[0]
            out[ex] = out.get(ex, 0) + int(meta["points"])
    return out


POINTS_BY_ASSIGNMENT = {a: _points(a) for a in ASSIGNMENTS}
POINTS = POINTS_BY_ASSIGNMENT[ASSIGNMENT]


def _cell(nb, grade_id):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def _cell_id(nb, ex, kind):
    """grade_id of exercise `ex`'s cell of one kind: 'solucion', 'visible' or 'oculta' (ejN-<name>-<kind>)."""
    return next(gid for c in nb.cells
                if (gid := c.metadata.get("nbgrader", {}).get("grade_id", "")).startswith(ex + "-")
                and gid.endswith("-" + kind))


def _sha(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


class _Listener:
    """A TCP server on 127.0.0.1 that counts connections (the sandbox must allow none)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            conn.close()


def _prefix(nb, grade_id, code):
    cell = _cell(nb, grade_id)
    cell.source = code + "\n" + cell.source


# Every assignment gets the round trip and these hostile submissions; the sandbox escapes
# (reading, writing, network, huge output, fork bomb) do not depend on the assignment and run
# for ASSIGNMENT only.
# Tricks a dishonest student could copy, each put on top of the honest "parcial" submission (issue 10).
TRICKS = {
    "trampa_checks": "import course_utils.checks as _c\nfor _n in dir(_c):\n    if _n.startswith('check_'):\n"
                     "        setattr(_c, _n, lambda *a, **k: None)",
    "trampa_testing": "import numpy.testing as _t\nfor _n in dir(_t):\n    if _n.startswith('assert_'):\n"
                      "        setattr(_t, _n, lambda *a, **k: None)",
    "trampa_numpy": "import numpy as _np\n_np.allclose = _np.isclose = _np.array_equal = lambda *a, **k: True",
    "trampa_traceback": "from IPython import get_ipython\nget_ipython().showtraceback = lambda *a, **k: None\n"
                        "get_ipython()._showtraceback = lambda *a, **k: None",
    "trampa_clase_ipython": "from IPython.core.interactiveshell import InteractiveShell\n"
                            "InteractiveShell.showtraceback = lambda *a, **k: None",
    "trampa_sys_modules": "import sys, types\n_f = types.ModuleType('course_utils.checks')\n"
                          "_f.__getattr__ = lambda name: (lambda *a, **k: None)\nsys.modules['course_utils.checks'] = _f",
    "trampa_nombres": None,  # rebinds every name the test cells take from the notebook (built per assignment)
}
COMMON = ("perfecta", "en_blanco", "parcial", "devuelve_cero", "bucle_infinito", "muerte_del_kernel",
          "celda_borrada", "pruebas_editadas", "desde_colab", "json_roto", *TRICKS)


def _submissions(assignment, source_nb, blank_nb, cdir: Path, port: int) -> dict[str, object]:
    """name → notebook (or raw text for broken files)."""
    subs: dict[str, object] = {"perfecta": source_nb, "en_blanco": blank_nb}

    partial = copy.deepcopy(blank_nb)
    for ex in ("ej1", "ej2", "ej3"):
        gid = _cell_id(source_nb, ex, "solucion")
        _cell(partial, gid).source = _cell(source_nb, gid).source
    subs["parcial"] = partial

    # every solution returns 0: the hidden tests' own code then fails in many places (the feedback test)
    zero = copy.deepcopy(source_nb)
    for cell in zero.cells:
        if "### BEGIN SOLUTION" in cell.source:
            cell.source = re.sub(r"^([ \t]*)### BEGIN SOLUTION\n.*?### END SOLUTION",
                                 lambda m: f"{m.group(1)}return 0", cell.source, flags=re.S | re.M)
    subs["devuelve_cero"] = zero

    ej1 = _cell_id(source_nb, "ej1", "solucion")
    aliases = sorted(notebook_spec(source_nb)["aliases"])
    for name, trick in TRICKS.items():
        trick = trick or f"for _n in {aliases!r}:\n    globals()[_n] = lambda *a, **k: True"
        tampered = copy.deepcopy(partial)
        _prefix(tampered, ej1, trick)
        subs[name] = tampered

    def variant(name, edit):
        nb = copy.deepcopy(source_nb)
        edit(nb)
        subs[name] = nb

    variant("bucle_infinito", lambda nb: _prefix(nb, ej1, "import time\nwhile True:\n    time.sleep(0.05)"))
    variant("celda_que_falla", lambda nb: _prefix(nb, ej1, "raise ValueError('¡ups!')"))
    variant("bomba_de_memoria", lambda nb: _prefix(nb, ej1, "basura = bytearray(64 * 2**30)"))
    variant("bomba_fork", lambda nb: _prefix(nb, ej1, "import os\nwhile True:\n    os.fork()"))
    variant("muerte_del_kernel", lambda nb: _prefix(nb, _cell_id(source_nb, "ej4", "solucion"), "import os\nos._exit(1)"))

    def delete_hidden(nb):
        hidden = _cell_id(source_nb, "ej2", "oculta")
        nb.cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") != hidden]
    variant("celda_borrada", delete_hidden)

    def edit_tests(nb):
        # ex. 3 unsolved, and its tests replaced by `pass`: nbgrader restores the locked tests
        _cell(nb, _cell_id(source_nb, "ej3", "solucion")).source = "pass  # sin resolver"
        for kind in ("visible", "oculta"):
            _cell(nb, _cell_id(source_nb, "ej3", kind)).source = "pass  # pruebas «arregladas» por el alumno"
    variant("pruebas_editadas", edit_tests)

    def duplicate(nb):
        i = nb.cells.index(_cell(nb, _cell_id(source_nb, "ej1", "visible")))
        twin = copy.deepcopy(nb.cells[i])
        twin["id"] = "gemela"
        nb.cells.insert(i + 1, twin)
    variant("celda_duplicada", duplicate)

    secrets = [cdir / "source" / assignment / f"{assignment}.ipynb", cdir / "gradebook.db",
               cdir / "submitted" / "perfecta" / assignment / f"{assignment}.ipynb",
               Path("../../../source") / assignment / f"{assignment}.ipynb", Path("../../../gradebook.db")]
    read_code = (f"for ruta in {[str(p) for p in secrets]!r}:\n"
                 "    try:\n        open(ruta, 'rb').read(10)\n        print('FILTRADO', ruta)\n"
                 "    except OSError:\n        print('BLOQUEADO', ruta)")
    variant("lee_secretos", lambda nb: nb.cells.append(nbformat.v4.new_code_cell(read_code)))
    write_code = (f"for ruta in {[str(p) for p in secrets[:3]] + [str(cdir / 'intruso.txt')]!r}:\n"
                  "    try:\n        open(ruta, 'a').write('ALUMNO_ESTUVO_AQUI')\n        print('ESCRITO', ruta)\n"
                  "    except OSError:\n        print('BLOQUEADO', ruta)")
    variant("escribe_fuera", lambda nb: nb.cells.append(nbformat.v4.new_code_cell(write_code)))
    net_code = (f"import socket\ntry:\n    socket.create_connection(('127.0.0.1', {port}), timeout=3)\n"
                "    print('CONECTADO')\nexcept OSError:\n    print('BLOQUEADO')")
    variant("red", lambda nb: nb.cells.append(nbformat.v4.new_code_cell(net_code)))
    variant("salida_enorme", lambda nb: nb.cells.append(
        nbformat.v4.new_code_cell("for i in range(500_000):\n    print('x' * 99)")))

    # an honest but unusual solution: star import, warnings silenced, loops and `math` instead of vectorised
    # NumPy, globals of its own; the guard must not mistake any of it for tampering
    unusual = (
        "from numpy import *\nimport math, warnings\nwarnings.filterwarnings('ignore')\nset_printoptions(precision=3)\n"
        "resultado = None\n\n\ndef _sigma(v):\n    if v >= 0:\n        return 1.0 / (1.0 + math.exp(-v))\n"
        "    e = math.exp(v)\n    return e / (1.0 + e)\n\n\n"
        "def sigmoid(z):\n    z = np.asarray(z, dtype=float)\n    out = np.empty(z.shape)\n"
        "    for i in np.ndindex(z.shape):\n        out[i] = _sigma(float(z[i]))\n    return out\n\n\n"
        "def sigmoid_derivada(z):\n    s = sigmoid(z)\n    return s * (1 - s)\n")
    if assignment == ASSIGNMENT:
        variant("inusual", lambda nb: setattr(_cell(nb, ej1), "source", unusual))

    colab = copy.deepcopy(source_nb)
    colab.metadata["colab"] = {"provenance": []}
    colab.metadata["accelerator"] = "GPU"
    for c in colab.cells:
        c.metadata["id"] = "colab-id"
    subs["desde_colab"] = colab
    subs["json_roto"] = nbformat.writes(source_nb)[:5000]
    return subs if assignment == ASSIGNMENT else {k: v for k, v in subs.items() if k in COMMON}


def _expected(assignment: str) -> dict[str, float]:
    points = POINTS_BY_ASSIGNMENT[assignment]
    everything = {
        "perfecta": 100, "en_blanco": 0, "parcial": points["ej1"] + points["ej2"] + points["ej3"],
        "bucle_infinito": 100 - points["ej1"], "celda_que_falla": 100 - points["ej1"],
        "bomba_de_memoria": 100 - points["ej1"],
        "celda_borrada": 100, "pruebas_editadas": 100 - points["ej3"], "celda_duplicada": 100,
        "lee_secretos": 100, "escribe_fuera": 100, "red": 100, "salida_enorme": 100, "desde_colab": 100,
        "inusual": 100,
    }
    return everything if assignment == ASSIGNMENT else {k: v for k, v in everything.items() if k in COMMON}


EXPECTED = _expected(ASSIGNMENT)
HONEST = ("perfecta", "en_blanco", "parcial", "devuelve_cero", "celda_borrada", "pruebas_editadas", "desde_colab",
          "celda_duplicada", "lee_secretos", "escribe_fuera", "red", "salida_enorme", "inusual")
SCORE_CASES = [(a, s) for a in ASSIGNMENTS for s in sorted(_expected(a))]


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A temporary copy of the nbgrader course with the student version released."""
    root = tmp_path_factory.mktemp("repo")
    shutil.copy(REPO_ROOT / "pyproject.toml", root)
    for a in ASSIGNMENTS:
        (root / "notebooks" / grade.module_folder(a).name).mkdir(parents=True, exist_ok=True)
    cdir = root / "grading"
    cdir.mkdir()
    shutil.copy(REPO_ROOT / "grading" / "nbgrader_config.py", cdir)
    shutil.copytree(REPO_ROOT / "grading" / "source", cdir / "source")
    released = {p.stem: p for p in grade.release(None, cdir, root)}
    return root, cdir, released


def test_assignments_are_numbered_from_01_without_gaps():
    numbers = sorted(int(a.split("_")[1]) for a in ASSIGNMENTS)
    assert numbers == list(range(1, len(numbers) + 1)), ASSIGNMENTS


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_points_total_100(assignment):
    points = POINTS_BY_ASSIGNMENT[assignment]
    assert sum(points.values()) == 100 and 6 <= len(points) <= 8, points
    assert all(p >= 10 for p in points.values()), points


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_committed_student_version_is_what_nbgrader_generates(course, assignment):
    root, _, released = course
    assert sorted(released) == sorted(ASSIGNMENTS)
    committed = grade.module_folder(assignment) / f"{assignment}.ipynb"
    assert committed.exists(), "Falta la versión del alumnado: python -m course_utils grade release"
    assert json.loads(committed.read_text()) == json.loads(released[assignment].read_text()), \
        "La versión del alumnado no coincide con la fuente: ejecuta python -m course_utils grade release"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_student_version_has_no_solutions_or_hidden_tests(course, assignment):
    _, _, released = course
    text = released[assignment].read_text()
    assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text
    assert "# TU CÓDIGO AQUÍ" in text


@pytest.fixture(scope="module")
def batches(course):
    """assignment → graded batch, built on first use (one collect + autograde per assignment)."""
    root, cdir, released = course
    done: dict[str, dict] = {}

    def get(assignment: str) -> dict:
        if assignment not in done:
            listener = _Listener()
            source_nb = nbformat.read(_source(assignment), as_version=4)
            blank_nb = nbformat.read(released[assignment], as_version=4)
            lms = root / "descarga" / assignment
            for name, nb in _submissions(assignment, source_nb, blank_nb, cdir, listener.port).items():
                (lms / name).mkdir(parents=True)
                file = f"Copia de {assignment}.ipynb" if name == "desde_colab" else f"{assignment}.ipynb"
                (lms / name / file).write_text(nb if isinstance(nb, str) else nbformat.writes(nb), encoding="utf-8")
            students = grade.collect(assignment, lms, cdir)
            before_source = _sha(cdir / "source")
            honest = {s: _sha(cdir / "submitted" / s / assignment) for s in ("perfecta", "en_blanco", "parcial")}
            results = grade.autograde(assignment, cdir, timeout=TIMEOUTS.get(assignment, DEFAULT_TIMEOUT), jobs=2)
            done[assignment] = {"cdir": cdir, "students": students, "results": {r.student: r for r in results},
                                "before_source": before_source, "honest": honest, "listener": listener}
        return done[assignment]

    return get


@pytest.fixture(scope="module")
def batch(batches):
    return batches(ASSIGNMENT)


@needs_sandbox
def test_collect_took_every_student(batch):
    # + json_roto, muerte_del_kernel, bomba_fork, devuelve_cero and the tricks (scored in their own tests)
    assert len(batch["students"]) == len(EXPECTED) + 4 + len(TRICKS)
    assert (batch["cdir"] / "submitted" / "desde_colab" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").is_file()


@needs_sandbox
@pytest.mark.parametrize("assignment,student", SCORE_CASES)
def test_each_submission_gets_its_correct_score(batches, assignment, student):
    r = batches(assignment)["results"][student]
    assert r.status == grade.GRADED, f"{assignment}/{student}: {r.status} {r.problems}"
    assert r.score == pytest.approx(_expected(assignment)[student]) and r.max_score == 100


@needs_sandbox
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_broken_submissions_of_every_assignment(batches, assignment):
    results = batches(assignment)["results"]
    assert results["json_roto"].status == grade.UNGRADABLE
    dead = results["muerte_del_kernel"]
    assert dead.status == grade.FAILED and "murió" in " ".join(dead.problems), dead
    assert "metadatos de Colab" in " ".join(results["desde_colab"].problems)


@needs_sandbox
def test_broken_submissions_get_a_clear_failure_line(batch):
    broken = batch["results"]["json_roto"]
    assert broken.status == grade.UNGRADABLE and "no es JSON válido" in broken.problems[0]
    dead = batch["results"]["muerte_del_kernel"]
    assert dead.status == grade.FAILED and "murió" in " ".join(dead.problems)
    # A fork bomb hits the process limit; the forked copies of the kernel share its sockets,
    # so the run either ends with the bomb's exercise at 0 or as a clear failure line.
    fork = batch["results"]["bomba_fork"]
    assert (fork.status == grade.GRADED and fork.score == 100 - POINTS["ej1"]) or \
        (fork.status == grade.FAILED and "núcleo" in " ".join(fork.problems)), fork
    assert "metadatos de Colab" in " ".join(batch["results"]["desde_colab"].problems)
    assert "duplicadas" in " ".join(batch["results"]["celda_duplicada"].problems)


@needs_sandbox
def test_sandbox_kept_secrets_files_and_network_safe(batch):
    cdir = batch["cdir"]
    assert _sha(cdir / "source") == batch["before_source"]
    for student, before in batch["honest"].items():
        assert _sha(cdir / "submitted" / student / ASSIGNMENT) == before
    assert b"ALUMNO_ESTUVO_AQUI" not in (cdir / "gradebook.db").read_bytes()
    assert not (cdir / "intruso.txt").exists()
    assert batch["listener"].accepted == 0

    def outputs(student):
        nb = nbformat.read(cdir / "autograded" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
        return "\n".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)

    assert "FILTRADO" not in outputs("lee_secretos") and outputs("lee_secretos").count("BLOQUEADO") == 5
    assert "ESCRITO" not in outputs("escribe_fuera")
    assert "CONECTADO" not in outputs("red") and "BLOQUEADO" in outputs("red")
    size = (cdir / "autograded" / "salida_enorme" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").stat().st_size
    assert size < 2_000_000, "la salida enorme debe quedar recortada"


@needs_sandbox
def test_export_and_feedback(batch):
    cdir = batch["cdir"]
    out = export.export(ASSIGNMENT, cdir)["notas"]
    rows = {r["alumno"]: r for r in csv.DictReader(out.open(encoding="utf-8"))}
    assert rows["perfecta"]["puntos"] == "100" and rows["en_blanco"]["puntos"] == "0"
    assert rows["json_roto"]["estado"] == grade.UNGRADABLE and rows["json_roto"]["puntos"] == ""
    assert rows["trampa_numpy"]["manipulacion"].startswith(TAMPER_NOTE) and "numpy.allclose" in rows["trampa_numpy"]["manipulacion"]
    assert rows["parcial"]["manipulacion"] == "" and rows["perfecta"]["manipulacion"] == ""
    fb = grade.feedback(ASSIGNMENT, cdir)
    assert (fb / "perfecta" / ASSIGNMENT / f"{ASSIGNMENT}.html").is_file()


def test_sanitize_rejects_and_repairs(tmp_path):
    bad = tmp_path / "roto.ipynb"
    bad.write_text('{"cells": [', encoding="utf-8")
    with pytest.raises(Ungradable, match="no es JSON válido"):
        sanitize_notebook(bad)
    assert bad.read_text() == '{"cells": ['  # left untouched
    nb = nbformat.read(SOURCE, as_version=4)
    nb.metadata["colab"] = {"x": 1}
    good = tmp_path / "bien.ipynb"
    nbformat.write(nb, good)
    problems = sanitize_notebook(good, backup_dir=tmp_path / "originales")
    assert problems == ["metadatos de Colab eliminados"]
    assert "colab" not in nbformat.read(good, as_version=4).metadata
    assert (tmp_path / "originales" / "bien.ipynb").is_file()


def test_lms_file_names():
    c = lms.LMSCollector(notebook="tarea_01.ipynb")
    moodle = c.collect("/x/Ana García Pérez_12345_assignsubmission_file_/Copia de tarea_01.ipynb")
    assert moodle["student_id"] == "ana_garcia_perez_12345" and moodle["file_id"] == "tarea_01.ipynb"
    assert moodle["first_name"] == "Ana" and moodle["last_name"] == "García Pérez"
    canvas = c.collect("/x/garciaana_LATE_123_456_tarea_01-1.ipynb")
    assert canvas["student_id"] == "garciaana_123" and canvas["file_id"] == "tarea_01.ipynb"
    assert c.collect("/x/notas.txt") is None
    mojibake = "José Núñez".encode("utf-8").decode("cp437")  # a zip without the UTF-8 flag
    who = lms.identify(f"/x/{mojibake}_7_assignsubmission_file_/t.ipynb")
    assert (who.student_id, who.full_name, who.lms_id) == ("jose_nunez_7", "José Núñez", "7")
    # two students with the same name stay two students
    assert lms.identify("Ana Gil_1_assignsubmission_file_/t.ipynb") != lms.identify("Ana Gil_2_assignsubmission_file_/t.ipynb")
    assert c.collect("/x/sin_formato.ipynb") is None


def test_autograde_refuses_without_bwrap(monkeypatch, tmp_path):
    monkeypatch.setattr(grade, "bwrap_path", lambda: None)
    with pytest.raises(RuntimeError, match="bubblewrap"):
        grade.autograde(ASSIGNMENT, tmp_path)


def test_collect_moodle_zip_and_canvas_folder(course, tmp_path):
    import zipfile

    _, cdir, released = course
    text = released[ASSIGNMENT].read_text()
    moodle = tmp_path / "moodle.zip"
    with zipfile.ZipFile(moodle, "w") as z:
        z.writestr("Ana García Pérez_1001_assignsubmission_file_/tarea_01.ipynb", text)
        z.writestr("Luis Ruiz_1002_assignsubmission_file_/Copia de tarea_01.ipynb", text)
    assert grade.collect(ASSIGNMENT, moodle, cdir) == ["ana_garcia_perez_1001", "luis_ruiz_1002"]
    canvas = tmp_path / "canvas"
    canvas.mkdir()
    (canvas / "lopezmaria_2001_9001_tarea_01.ipynb").write_text(text)
    (canvas / "sotojuan_LATE_2002_9002_tarea_01-1.ipynb").write_text(text)
    assert grade.collect(ASSIGNMENT, canvas, cdir) == ["lopezmaria_2001", "sotojuan_2002"]
    for student in ("ana_garcia_perez_1001", "luis_ruiz_1002", "lopezmaria_2001", "sotojuan_2002"):
        assert (cdir / "submitted" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text() == text
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{cdir / 'gradebook.db'}", course_id="curso-dl-es") as gb:
        ana = gb.find_student("ana_garcia_perez_1001")
        assert (ana.first_name, ana.last_name, ana.lms_user_id) == ("Ana", "García Pérez", "1001")
        assert gb.find_student("sotojuan_2002").lms_user_id == "2002"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_student_version_run_as_a_student_shows_spanish_feedback(tmp_path, assignment):
    """papermill run of the released notebook: each visible test fails on the student's own stub."""
    import re

    import papermill as pm

    student = grade.module_folder(assignment) / f"{assignment}.ipynb"
    out = tmp_path / "ejecutado.ipynb"
    try:
        pm.execute_notebook(str(student), str(out), kernel_name="python3", cwd=str(tmp_path),
                            progress_bar=False, allow_errors=True)
    except pm.PapermillExecutionError:
        pass  # expected: the exercises are not solved
    nb = nbformat.read(out, as_version=4)
    visible = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id", "").endswith("-visible")]
    assert len(visible) == len(POINTS_BY_ASSIGNMENT[assignment])
    for cell in visible:
        errors = [o for o in cell.outputs if o.output_type == "error"]
        assert errors, f"{cell.metadata.nbgrader.grade_id}: la prueba visible debería fallar sin solución"
        assert errors[0].ename in ("NotImplementedError", "AssertionError")
        trace = re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(errors[0].traceback))
        assert "course_utils/" not in trace, trace


def _html_text(path: Path) -> str:
    """The text a student reads in a feedback page (no tags, styles or scripts)."""
    import html

    page = path.read_text(encoding="utf-8")
    page = re.sub(r"<(style|script)\b.*?</\1>", "", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", "", page))


def _hidden_lines(assignment: str) -> list[str]:
    """Lines of the hidden tests that appear nowhere else in the source (those must never reach a student)."""
    nb = nbformat.read(_source(assignment), as_version=4)
    hidden, public = [], set()
    for cell in nb.cells:
        inside = False
        for line in cell.source.splitlines():
            if "BEGIN HIDDEN TESTS" in line or "END HIDDEN TESTS" in line:
                inside = "BEGIN" in line
                continue
            (hidden.append if inside else public.add)(line.strip())
    return [line for line in hidden if len(line) >= 12 and line not in public]


@needs_sandbox
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_feedback_shows_no_hidden_test_and_is_spanish(batches, assignment):
    cdir = batches(assignment)["cdir"]
    fb = grade.feedback(assignment, cdir)
    hidden = _hidden_lines(assignment)
    assert len(hidden) > 20, "las pruebas ocultas deberían tener contenido propio"
    for student in ("en_blanco", "parcial", "devuelve_cero", "perfecta"):
        text = _html_text(fb / student / assignment / f"{assignment}.html")
        # each line as a traceback would show it ("---> 25     check_close(...)"), without the arrow and number
        shown = {re.sub(r"^(-*>\s*)?\d+\s", "", line.strip()).strip() for line in text.splitlines()}
        leaked = [line for line in hidden if line in shown]
        assert not leaked, f"{student}: la retroalimentación muestra líneas de las pruebas ocultas: {leaked[:5]}"
        for path in (str(REPO_ROOT), sys.prefix, "site-packages", str(Path.home()) + "/"):
            assert path not in text, f"{student}: la retroalimentación muestra rutas del calificador ({path})"
        assert HIDDEN_BEGIN not in text
    text = _html_text(fb / "devuelve_cero" / assignment / f"{assignment}.html")
    for label in ("Puntuación", "Prueba visible", "Prueba oculta", "Ejercicio 1 · ", "Total", "volver arriba"):
        assert label in text, label
    for english in ("Score", "Test cell", "Grade cell", "(Top)", "Student's answer", "Traceback", "Cell In["):
        assert english not in text, english
    # every failed hidden-test cell shows one Spanish line, and the summary lists every exercise
    failed = text.count("✘")
    assert failed >= len(POINTS_BY_ASSIGNMENT[assignment]), text[:3000]
    for ex in POINTS_BY_ASSIGNMENT[assignment]:
        assert f"Ejercicio {ex[2:]} · " in text


MOODLE_HEADER = ('Identificador,"Nombre completo","Dirección de correo",Estado,Calificación,"Calificación máxima",'
                 '"La calificación puede ser cambiada","Última modificación (entrega)",'
                 '"Última modificación (calificación)","Comentarios de retroalimentación"')


@needs_sandbox
def test_readme_commands_from_a_shell_without_the_venv(tmp_path):
    """collect → autograde (--jobs 2 and --jobs 1 agree) → export --moodle, with PATH lacking the venv."""
    import zipfile

    cdir = tmp_path / "grading"
    (cdir / "source").mkdir(parents=True)
    shutil.copy(REPO_ROOT / "grading" / "nbgrader_config.py", cdir)
    shutil.copytree(REPO_ROOT / "grading" / "source" / ASSIGNMENT, cdir / "source" / ASSIGNMENT)
    source = nbformat.read(SOURCE, as_version=4)
    blank = nbformat.read(grade.module_folder(ASSIGNMENT) / f"{ASSIGNMENT}.ipynb", as_version=4)
    partial = copy.deepcopy(blank)
    gid = _cell_id(source, "ej1", "solucion")
    _cell(partial, gid).source = _cell(source, gid).source
    submissions = tmp_path / "entregas.zip"
    with zipfile.ZipFile(submissions, "w") as z:
        z.writestr("José Núñez_102_assignsubmission_file_/tarea_01.ipynb", nbformat.writes(source))
        z.writestr("Ana García Pérez_103_assignsubmission_file_/Copia de tarea_01.ipynb", nbformat.writes(partial))
        z.writestr("Luis Ruiz_104_assignsubmission_file_/tarea_01.ipynb", nbformat.writes(blank))
    sheet = tmp_path / "hoja.csv"
    sheet.write_text(MOODLE_HEADER + "\n" + "\n".join([
        '"Participante 102","José Núñez",jose@example.org,"Enviado para calificar",,100.00,Sí,'
        '"lunes, 1 de diciembre de 2026, 10:00",-,',
        '"Participante 103","Ana García Pérez",ana@example.org,"Enviado para calificar",,100.00,Sí,'
        '"lunes, 1 de diciembre de 2026, 11:00",-,',
        '"Participante 104","Luis Ruiz",luis@example.org,"Enviado para calificar",,100.00,Sí,'
        '"lunes, 1 de diciembre de 2026, 12:00",-,',
        '"Participante 105","Marta Sol",marta@example.org,"Sin entrega",,100.00,Sí,-,-,']) + "\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    env.update(PATH="/usr/bin:/bin", COURSE_GRADING_DIR=str(cdir))
    assert str(Path(sys.executable).parent) not in env["PATH"]

    def cli(*args):
        proc = subprocess.run([sys.executable, "-m", "course_utils", "grade", *args], cwd=REPO_ROOT, env=env,
                              capture_output=True, text=True, timeout=900)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        return proc.stdout

    cli("collect", ASSIGNMENT, str(submissions))
    scores = {}
    for jobs in ("2", "1"):
        cli("autograde", ASSIGNMENT, "--timeout", "10", "--jobs", jobs)
        summary = json.loads((cdir / f"resumen_{ASSIGNMENT}.json").read_text(encoding="utf-8"))
        scores[jobs] = [(r["student"], r["score"], r["status"]) for r in summary]
    assert scores["2"] == scores["1"] == [("ana_garcia_perez_103", POINTS["ej1"], grade.GRADED),
                                          ("jose_nunez_102", 100, grade.GRADED), ("luis_ruiz_104", 0, grade.GRADED)]
    out = cli("export", ASSIGNMENT, "--moodle", str(sheet))
    assert "Marta Sol" in out  # did not submit: reported, row left as it was
    notas = list(csv.DictReader((cdir / f"notas_{ASSIGNMENT}.csv").open(encoding="utf-8")))
    assert [(r["nombre"], r["apellidos"], r["id_aula_virtual"], r["puntos"]) for r in notas] == [
        ("Ana", "García Pérez", "103", f"{POINTS['ej1']:g}"), ("José", "Núñez", "102", "100"), ("Luis", "Ruiz", "104", "0")]
    filled = (cdir / f"moodle_{ASSIGNMENT}.csv").read_text(encoding="utf-8").splitlines()
    rows = list(csv.reader(filled))
    assert rows[0] == next(csv.reader([MOODLE_HEADER]))
    by_id = {r[0]: r for r in rows[1:]}
    assert by_id["Participante 102"][4] == "100.00" and by_id["Participante 104"][4] == "0.00"
    assert by_id["Participante 103"][4] == f"{POINTS['ej1']:.2f}" and by_id["Participante 105"][4] == ""
    assert "Ej. 1: 10/10" in by_id["Participante 103"][9] and by_id["Participante 105"][9] == ""
    assert by_id["Participante 102"][7] == "lunes, 1 de diciembre de 2026, 10:00"  # other columns untouched
    with zipfile.ZipFile(cdir / f"retroalimentacion_{ASSIGNMENT}_moodle.zip") as z:
        assert "José Núñez_102_assignfeedback_file_tarea_01.html" in z.namelist() and len(z.namelist()) == 3


def test_moodle_worksheet_and_canvas_gradebook(tmp_path):
    grades = [lms.Grade("102", "José Núñez", 87.5, "Ej. 1: 10/10, bien"), lms.Grade("103", "Ana Gil", None, ""),
              lms.Grade("107", "Iñaki Sáez", 50.0, "c")]
    english = tmp_path / "worksheet.csv"
    english.write_text('\ufeffIdentifier,"Full name","Email address",Status,Grade,"Maximum Grade",'
                       '"Grade can be changed","Last modified (submission)","Last modified (grade)",'
                       '"Feedback comments"\n'
                       '"Participant 102","José Núñez",j@x.org,"Submitted for grading",,100.00,Yes,'
                       '"Monday, 1 December 2026, 10:00 AM",-,\n'
                       '"Participant 103","Ana Gil",a@x.org,"No submission",,100.00,Yes,-,-,\n', encoding="utf-8")
    report = lms.fill_moodle_worksheet(english, grades, tmp_path / "out.csv")
    rows = list(csv.reader((tmp_path / "out.csv").open(encoding="utf-8")))
    assert rows[1][4] == "87.50" and rows[1][9] == "Ej. 1: 10/10, bien" and rows[1][7].startswith("Monday, 1")
    assert rows[2][4] == "" and report.written == ["José Núñez"] and report.without_grade == ["Ana Gil"]
    assert report.missing == ["Iñaki Sáez (107)"] and any("Iñaki" in line for line in report.lines())
    with pytest.raises(ValueError, match="hoja de calificación"):
        bad = tmp_path / "bad.csv"
        bad.write_text("a,b\n1,2\n", encoding="utf-8")
        lms.fill_moodle_worksheet(bad, grades, tmp_path / "x.csv")

    canvas = tmp_path / "canvas.csv"
    canvas.write_text('Student,ID,SIS User ID,SIS Login ID,Section,Tarea 01 (4521),Tarea 02 (4522),Current Score\n'
                      '    Points Possible,,,,,100.00,100.00,(read only)\n'
                      '"Núñez, José",102,A102,jnunez,Grupo 1,,,0\n'
                      '"Gil, Ana",103,A103,agil,Grupo 1,,,0\n', encoding="utf-8")
    report = lms.fill_canvas_gradebook(canvas, grades, tmp_path / "c.csv", "tarea_01")
    rows = list(csv.reader((tmp_path / "c.csv").open(encoding="utf-8")))
    assert rows[1][5] == "100.00" and rows[2][5] == "87.50" and rows[2][6] == "" and rows[3][5] == ""
    assert report.written == ["Núñez, José"] and report.without_grade == ["Gil, Ana"]
    assert report.missing == ["Iñaki Sáez (107)"]
    with pytest.raises(ValueError, match="--columna"):
        lms.fill_canvas_gradebook(canvas, grades, tmp_path / "c.csv", "tarea_03")
    lms.fill_canvas_gradebook(canvas, grades, tmp_path / "c.csv", "tarea_03", column="Tarea 02 (4522)")
    assert list(csv.reader((tmp_path / "c.csv").open(encoding="utf-8")))[2][6] == "87.50"


def test_first_gradebook_is_made_whole_or_not_at_all(tmp_path, monkeypatch):
    """A first run that fails while nbgrader creates the gradebook leaves nothing behind; a half-made one is repaired."""
    import sqlite3

    import nbgrader.api

    monkeypatch.setenv("NBGRADER_DB_URL", f"sqlite:///{tmp_path / 'gradebook.db'}")
    monkeypatch.setattr(nbgrader.api, "get_alembic_version", lambda: (_ for _ in ()).throw(FileNotFoundError("alembic")))
    with pytest.raises(FileNotFoundError):
        gradebook.ensure_gradebook(tmp_path)
    assert list(tmp_path.iterdir()) == []
    monkeypatch.undo()
    monkeypatch.setenv("NBGRADER_DB_URL", f"sqlite:///{tmp_path / 'gradebook.db'}")
    with sqlite3.connect(tmp_path / "gradebook.db") as db:  # what nbgrader 0.9 left behind before
        db.execute("CREATE TABLE student (id VARCHAR(128) PRIMARY KEY)")
    gradebook.ensure_gradebook(tmp_path)
    with sqlite3.connect(tmp_path / "gradebook.db") as db:
        assert db.execute("SELECT count(*) FROM alembic_version").fetchone()[0] == 1


@needs_sandbox
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_tampering_gains_nothing_and_is_flagged(batches, assignment):
    results = batches(assignment)["results"]
    honest = results["parcial"]
    assert honest.status == grade.GRADED and not honest.tampering
    for trick in TRICKS:
        r = results[trick]
        assert r.status == grade.GRADED, f"{trick}: {r.status} {r.problems}"
        assert r.score <= honest.score, f"{trick}: {r.score} > {honest.score} (la trampa sumó puntos)"
        assert r.tampering, f"{trick}: la manipulación no se detectó"
        assert any(p.startswith(TAMPER_NOTE) for p in r.problems), r.problems
    assert "numpy.allclose" in results["trampa_numpy"].tampering
    assert any("check_close" in t for t in results["trampa_checks"].tampering)
    assert "sys.modules['course_utils.checks']" in results["trampa_sys_modules"].tampering
    assert "shell.showtraceback" in results["trampa_traceback"].tampering


@needs_sandbox
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_honest_submissions_are_never_flagged(batches, assignment):
    results = batches(assignment)["results"]
    for name in HONEST:
        if name in results and results[name].status == grade.GRADED:
            assert not results[name].tampering, f"{name}: {results[name].tampering}"
            assert not any(TAMPER_NOTE in p for p in results[name].problems)
