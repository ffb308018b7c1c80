"""Grades out: notas_<tarea>.csv for the instructor, and the files Moodle and Canvas import back.

`rows` joins the gradebook (scores per exercise, name and LMS id kept by `collect`) with the
autograde summary (status, problems); `export` writes the CSV and, given the LMS's own file,
the filled copy to upload (see `course_utils.grading.lms` for the formats).
"""

from __future__ import annotations

import csv
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

from course_utils.grading import COURSE_ID
from course_utils.grading.grade import GRADED, course_dir
from course_utils.grading.gradebook import db_url, ensure_gradebook
from course_utils.grading.lms import Grade, fill_canvas_gradebook, fill_moodle_worksheet
from course_utils.grading.verdict import TAMPER_NOTE


@dataclass
class Row:
    """One student of the grades file."""

    student: str
    first_name: str
    last_name: str
    lms_id: str
    score: float | None
    max_score: float | None
    status: str
    problems: list[str]
    tampering: list[str]  # what the guard saw replaced: the grade waits for the instructor
    exercises: dict[str, tuple[float, float]]  # {"ej1": (score, max)}

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip() or self.student

    def comment(self) -> str:
        """Short Spanish comment for the LMS: total and points per exercise."""
        if self.score is None:
            return ""
        parts = [f"Ej. {ex[2:]}: {s:g}/{m:g}" for ex, (s, m) in self.exercises.items()]
        return (f"Calificación automática: {self.score:g}/{self.max_score:g} puntos. " + "; ".join(parts) +
                ". Los mensajes de cada prueba están en tu informe de retroalimentación (HTML).")


def rows(assignment: str, cdir: Path | None = None) -> list[Row]:
    """Every student of `assignment`: gradebook scores and identity, and the autograde summary."""
    from nbgrader.api import Gradebook, MissingEntry

    cdir = cdir or course_dir()
    ensure_gradebook(cdir)
    summary_file = cdir / f"resumen_{assignment}.json"
    summary = {r["student"]: r for r in json.loads(summary_file.read_text())} if summary_file.exists() else {}
    out = []
    with Gradebook(db_url(cdir), course_id=COURSE_ID) as gb:
        try:
            subs = {s.student_id: s for s in gb.find_assignment(assignment).submissions}
        except MissingEntry:
            subs = {}
        for sid in sorted(set(subs) | set(summary)):
            info = summary.get(sid, {})
            status = info.get("status", GRADED)
            try:
                student = gb.find_student(sid)
                first, last, lms_id = student.first_name or "", student.last_name or "", student.lms_user_id or ""
            except MissingEntry:
                first, last, lms_id = "", "", ""
            exercises: dict[str, list[float]] = {}
            score = max_score = None
            if status == GRADED and sid in subs:
                sub = subs[sid]
                score, max_score = float(sub.score), float(sub.max_score)
                for nb in sub.notebooks:
                    for g in nb.grades:
                        ex = g.name.split("-")[0]
                        acc = exercises.setdefault(ex, [0.0, 0.0])
                        acc[0] += float(g.score or 0)
                        acc[1] += float(g.max_score or 0)
            ordered = dict(sorted(((k, (v[0], v[1])) for k, v in exercises.items()),
                                  key=lambda kv: (not kv[0][2:].isdigit(), int(kv[0][2:]) if kv[0][2:].isdigit() else 0)))
            out.append(Row(sid, first, last, lms_id, score, max_score, status, info.get("problems", []),
                           info.get("tampering", []), ordered))
    return out


def export(assignment: str, cdir: Path | None = None, output: Path | None = None, moodle: Path | None = None,
           canvas: Path | None = None, canvas_column: str | None = None) -> dict[str, Path]:
    """Write notas_<tarea>.csv and, when given the LMS's own file, the file to upload back.

    moodle: the grading worksheet downloaded from the Moodle assignment → moodle_<tarea>.csv
            (+ retroalimentacion_<tarea>_moodle.zip, the feedback files Moodle imports as a zip).
    canvas: the gradebook CSV exported from Canvas → canvas_<tarea>.csv.
    Returns {"notas": path, …}; the report of each LMS file is printed.
    """
    cdir = cdir or course_dir()
    table = rows(assignment, cdir)
    written = {"notas": output or cdir / f"notas_{assignment}.csv"}
    exercises = sorted({ex for r in table for ex in r.exercises}, key=lambda e: int(e[2:]) if e[2:].isdigit() else 0)
    with open(written["notas"], "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["alumno", "nombre", "apellidos", "id_aula_virtual", "tarea", "puntos", "maximo", "estado",
                         "manipulacion", "problemas", *exercises])
        for r in table:
            writer.writerow([r.student, r.first_name, r.last_name, r.lms_id, assignment,
                             "" if r.score is None else f"{r.score:g}", "" if r.max_score is None else f"{r.max_score:g}",
                             r.status, f"{TAMPER_NOTE}: {', '.join(r.tampering)}" if r.tampering else "",
                             "; ".join(r.problems),
                             *(f"{r.exercises[e][0]:g}" if e in r.exercises else "" for e in exercises)])
    grades = [Grade(r.lms_id, r.name, None, "") if r.tampering else Grade(r.lms_id, r.name, r.score, r.comment())
              for r in table]
    for r in table:
        if r.status != GRADED:
            print(f"⚠️ {r.name}: {r.status} ({'; '.join(r.problems)}): sin nota; revísalo a mano.")
        elif r.tampering:
            print(f"❌ {r.name}: {TAMPER_NOTE} ({', '.join(r.tampering)}). La nota automática "
                  f"({r.score:g}) no se sube al aula virtual: decide tú.")
    if moodle is not None:
        written["moodle"] = cdir / f"moodle_{assignment}.csv"
        report = fill_moodle_worksheet(Path(moodle), grades, written["moodle"])
        print("\n".join(["Moodle:", *report.lines()]))
        written["moodle_zip"] = _moodle_feedback_zip(assignment, cdir, table)
    if canvas is not None:
        written["canvas"] = cdir / f"canvas_{assignment}.csv"
        report = fill_canvas_gradebook(Path(canvas), grades, written["canvas"], assignment, canvas_column)
        print("\n".join(["Canvas:", *report.lines()]))
    return written


def _moodle_feedback_zip(assignment: str, cdir: Path, table: list[Row]) -> Path:
    """Feedback HTML files named as Moodle's "upload multiple feedback files in a zip" expects.

    Moodle reads "<full name>_<participant id>_assignfeedback_file_<file>" (the id finds the student).
    """
    out = cdir / f"retroalimentacion_{assignment}_moodle.zip"
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for r in table:
            html = cdir / "feedback" / r.student / assignment / f"{assignment}.html"
            if r.lms_id and html.is_file():
                name = r.name.replace("_", " ").replace("/", " ")
                z.write(html, f"{name}_{r.lms_id}_assignfeedback_file_{assignment}.html")
    return out
