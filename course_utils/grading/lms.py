"""Moodle and Canvas: who a submission belongs to, and the files that take grades back.

In:  the names of the LMS download ("José Núñez_102_assignsubmission_file_/…" in Moodle,
     "nunezjose_2001_9001_tarea_01.ipynb" in Canvas) say who submitted; `identify` reads them.
Out: `fill_moodle_worksheet` fills the *grading worksheet* that Moodle lets the teacher download
     for an assignment; `fill_canvas_gradebook` fills the assignment's column of the gradebook CSV
     that Canvas exports. Both keep every other column, row and quote as the LMS wrote them, so the
     LMS imports the result as it is; rows of people without a grade stay untouched and are reported.

Formats (checked against Moodle's assignfeedback_offline importer and Canvas's gradebook import):
- Moodle matches columns by their (translated) header names, and the row by the number at the end
  of "Participant 102" / "Participante 102", the same number as in the download's folder names.
- Canvas matches rows by the "ID" column (the user id in the download's file names) and the
  assignment by its column "<name> (<assignment id>)"; the "Points Possible" row is kept.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from nbgrader.plugins import FileNameCollectorPlugin
from traitlets import Unicode

MOODLE = re.compile(r"^(?P<name>.+?)_(?P<id>\d+)_assignsubmission_\w+?_")
CANVAS = re.compile(r"^(?P<login>[a-z0-9]+)(?:_late)?_(?P<uid>\d+)_(?P<sub>\d+)_", re.IGNORECASE)

# Header names of the Moodle worksheet, in English and Spanish Moodle.
MOODLE_ID = ("Identifier", "Identificador")
MOODLE_GRADE = ("Grade", "Calificación")
MOODLE_FEEDBACK = ("Feedback comments", "Comentarios de retroalimentación")
MOODLE_NAME = ("Full name", "Nombre completo")
CANVAS_FIXED = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")


@dataclass(frozen=True)
class Identity:
    """A student as the LMS named them."""

    student_id: str  # nbgrader id: slug of the name + LMS id ("jose_nunez_102")
    first_name: str
    last_name: str
    lms_id: str  # Moodle participant id / Canvas user id ("" for a plain folder)

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


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


def identify(path: str | Path) -> Identity | None:
    """The student of one file of an LMS download (folder or file name), or None."""
    for part in reversed(Path(path).parts):
        if m := MOODLE.match(part):
            name = unicodedata.normalize("NFC", fix_zip_name(m.group("name")).strip())
            first, _, last = name.partition(" ")
            return Identity(f"{slug(name)}_{m.group('id')}", first, last, m.group("id"))
        if m := CANVAS.match(part):
            login = m.group("login").lower()
            return Identity(f"{login}_{m.group('uid')}", "", login, m.group("uid"))
    return None


class LMSCollector(FileNameCollectorPlugin):
    """nbgrader zip_collect plugin for Moodle and Canvas file names.

    The file is mapped to the assignment's notebook (`notebook`) whatever the student called it.
    """

    notebook = Unicode("", help="Notebook file name of the assignment").tag(config=True)

    def collect(self, submitted_file: str) -> dict | None:
        path = Path(submitted_file)
        if path.suffix not in self.valid_ext:
            return None
        who = identify(path)
        if who is None:
            self.log.warning("Nombre de archivo no reconocido (ni Moodle ni Canvas): %s", submitted_file)
            return None
        return {"student_id": who.student_id, "file_id": self.notebook or path.name,
                "first_name": who.first_name, "last_name": who.last_name}


@dataclass
class Grade:
    """What goes back to the LMS for one student."""

    lms_id: str
    name: str
    score: float | None  # None: nothing to upload (not graded)
    comment: str


def _read_csv(path: Path) -> tuple[list[list[str]], str]:
    """Rows of a CSV as the LMS wrote it (UTF-8, with or without BOM) and its delimiter."""
    text = Path(path).read_text(encoding="utf-8-sig")
    try:
        dialect = csv.Sniffer().sniff(text.splitlines()[0], delimiters=",;\t")
        delimiter = dialect.delimiter
    except (csv.Error, IndexError):
        delimiter = ","
    return list(csv.reader(io.StringIO(text), delimiter=delimiter)), delimiter


def _write_csv(rows: list[list[str]], path: Path, delimiter: str) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        csv.writer(f, delimiter=delimiter, quoting=csv.QUOTE_MINIMAL).writerows(rows)


def _column(header: list[str], names: tuple[str, ...], what: str, path: Path) -> int:
    for i, h in enumerate(header):
        if h.strip() in names:
            return i
    raise ValueError(f"{path.name} no tiene la columna {what} ({' / '.join(names)}); columnas: {header}. "
                     "¿Es la hoja de calificación (grading worksheet) descargada de la tarea?")


def format_grade(score: float) -> str:
    return f"{score:.2f}"


@dataclass
class FillReport:
    """What happened to each student: written, left blank, or absent from the LMS file."""

    written: list[str]
    without_grade: list[str]  # in the LMS file, nothing to upload (did not submit, or not graded)
    missing: list[str]  # graded here, but not in the LMS file

    def lines(self) -> list[str]:
        out = [f"✅ {len(self.written)} notas escritas."]
        if self.without_grade:
            out.append(f"⚠️ {len(self.without_grade)} sin nota (sin entrega o sin calificar; su fila queda "
                       "como estaba): " + ", ".join(self.without_grade))
        if self.missing:
            out.append(f"❌ {len(self.missing)} calificados aquí no aparecen en el archivo del aula virtual "
                       "(¿otro grupo, baja, otra tarea?); súbelos a mano: " + ", ".join(self.missing))
        return out


def fill_moodle_worksheet(worksheet: Path, grades: list[Grade], output: Path) -> FillReport:
    """Copy Moodle's grading worksheet to `output` with the grade and a feedback comment filled in."""
    rows, delimiter = _read_csv(worksheet)
    if not rows:
        raise ValueError(f"{worksheet.name} está vacío.")
    header = rows[0]
    i_id = _column(header, MOODLE_ID, "del identificador", worksheet)
    i_grade = _column(header, MOODLE_GRADE, "de la calificación", worksheet)
    try:
        i_comment = _column(header, MOODLE_FEEDBACK, "de comentarios", worksheet)
    except ValueError:
        i_comment = None  # feedback comments are disabled for this assignment: grades only
    i_name = next((i for i, h in enumerate(header) if h.strip() in MOODLE_NAME), None)
    by_id = {g.lms_id: g for g in grades if g.lms_id}
    report = FillReport([], [], [])
    seen = set()
    for row in rows[1:]:
        if len(row) <= i_id:
            continue
        number = re.search(r"(\d+)\s*$", row[i_id])
        who = row[i_name] if i_name is not None and len(row) > i_name else row[i_id]
        grade = by_id.get(number.group(1)) if number else None
        if grade is None or grade.score is None:
            report.without_grade.append(who)
            continue
        seen.add(grade.lms_id)
        row += [""] * (len(header) - len(row))
        row[i_grade] = format_grade(grade.score)
        if i_comment is not None:
            row[i_comment] = grade.comment
        report.written.append(who)
    report.missing = [f"{g.name} ({g.lms_id or 'sin id'})" for g in grades
                      if g.score is not None and g.lms_id not in seen]
    _write_csv(rows, output, delimiter)
    return report


def canvas_assignment_column(header: list[str], assignment: str, column: str | None = None) -> int:
    """Index of the assignment's column: `column` when given, else the one whose name has its number."""
    if column is not None:
        if column not in header:
            raise ValueError(f"El archivo de Canvas no tiene la columna {column!r}.")
        return header.index(column)
    candidates = [h for h in header[len(CANVAS_FIXED):] if re.search(r"\(\d+\)\s*$", h)]
    number = re.search(r"\d+", assignment)
    wanted = [h for h in candidates if number and re.search(rf"(?<!\d)0*{int(number.group())}(?!\d)",
                                                             re.sub(r"\(\d+\)\s*$", "", h))]
    if len(wanted) != 1:
        raise ValueError(f"No sé qué columna del archivo de Canvas es {assignment} (candidatas: {candidates}). "
                         "Indícala con --columna \"Nombre de la tarea (id)\".")
    return header.index(wanted[0])


def fill_canvas_gradebook(gradebook: Path, grades: list[Grade], output: Path, assignment: str,
                          column: str | None = None) -> FillReport:
    """Copy Canvas's gradebook export to `output` with the assignment's column filled in."""
    rows, delimiter = _read_csv(gradebook)
    if not rows or [h.strip() for h in rows[0][:2]] != ["Student", "ID"]:
        raise ValueError(f"{gradebook.name} no parece una exportación del libro de calificaciones de Canvas "
                         "(debe empezar por las columnas Student, ID, SIS User ID, SIS Login ID, Section).")
    header = rows[0]
    i_col = canvas_assignment_column(header, assignment, column)
    by_id = {g.lms_id: g for g in grades if g.lms_id}
    report = FillReport([], [], [])
    seen = set()
    for row in rows[1:]:
        if len(row) < 2 or not row[1].strip().isdigit():  # "Points Possible" and other non-student rows
            continue
        grade = by_id.get(row[1].strip())
        if grade is None or grade.score is None:
            report.without_grade.append(row[0])
            continue
        seen.add(grade.lms_id)
        row += [""] * (len(header) - len(row))
        row[i_col] = format_grade(grade.score)
        report.written.append(row[0])
    report.missing = [f"{g.name} ({g.lms_id or 'sin id'})" for g in grades
                      if g.score is not None and g.lms_id not in seen]
    _write_csv(rows, output, delimiter)
    return report
