"""What a student receives: Spanish feedback without hidden tests or grader paths.

`StudentFeedback` is an nbgrader feedback preprocessor (see grading/nbgrader_config.py). It runs
after `GetGrades` and before `ClearHiddenTests`, on the autograded notebook, and:

- replaces every output of a hidden-test cell by one line: "✔ superadas", or the Spanish message of
  the failed check (the last `AssertionError`), or, for any other error, its type and message and a
  sentence saying the hidden tests could not run the student's function. No traceback, no code;
- removes the grader's file paths (repository, Python installation, home) from every other output;
- collects the per-exercise summary (title from the `ejN-enunciado` cell, points obtained/maximum,
  total) that the Spanish template `templates/feedback_es` shows at the top of the page.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from nbconvert.preprocessors import Preprocessor
from nbformat.v4 import new_output
from traitlets import Bool

TEMPLATES = Path(__file__).resolve().parent / "templates"
HIDDEN_BEGIN = "### BEGIN HIDDEN TESTS"
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
TITLE = re.compile(r"^#+\s*Ejercicio\s+\d+\s*[·:.\-—–]\s*(?P<title>.+?)\s*(\(.*\))?\s*$", re.MULTILINE)
COULD_NOT_RUN = ("Las pruebas ocultas no pudieron ejecutar tu función con sus casos: prueba tu código con "
                 "entradas de otras formas, tamaños y tipos que las de las pruebas visibles.")


def grader_paths() -> list[str]:
    """Absolute path prefixes of the grading machine that must not reach students, longest first."""
    package_root = Path(__file__).resolve().parents[2]
    prefixes = {str(package_root), sys.prefix, sys.base_prefix, str(Path.home())}
    prefixes |= {p for p in sys.path if p.endswith("site-packages")}
    return sorted((p.rstrip("/") + "/" for p in prefixes if p and p != "/"), key=len, reverse=True)


def strip_paths(text: str, prefixes: list[str] | None = None) -> str:
    """'/home/prof/curso/course_utils/checks.py' → 'course_utils/checks.py'."""
    for prefix in prefixes if prefixes is not None else grader_paths():
        text = text.replace(prefix, "")
    return re.sub(r"(?:/[\w.\-]+)+/(site-packages|dist-packages)/", "", text)


def exercise_of(grade_id: str) -> str | None:
    """'ej3-bce-oculta' → 'ej3'."""
    m = re.match(r"(ej\d+)-", grade_id or "")
    return m.group(1) if m else None


def exercise_titles(nb) -> dict[str, str]:
    """{'ej1': 'Sigmoide y su derivada', ...} from the statement cells' headings."""
    titles = {}
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id", "")
        if cell.cell_type == "markdown" and gid.endswith("-enunciado") and (m := TITLE.search(cell.source)):
            titles[exercise_of(gid)] = m.group("title")
    return titles


def hidden_message(outputs: list) -> str | None:
    """The one line a student sees for a hidden-test cell; None when it passed."""
    for out in outputs:
        if out.get("output_type") == "error":
            name, value = out.get("ename", "Error"), ANSI.sub("", str(out.get("evalue", ""))).strip()
            if name in ("AssertionError", "Manipulación detectada"):
                return value or "Una prueba oculta falló (sin mensaje)."
            return f"{name}: {value}. {COULD_NOT_RUN}" if value else f"{name}. {COULD_NOT_RUN}"
    for out in outputs:
        if out.get("output_type") == "stream" and out.get("name") == "stderr":
            warnings = re.findall(r"\b(\w+(?:Warning|Error): [^\n]+)", ANSI.sub("", out.get("text", "")))
            detail = f" («{warnings[0]}»)" if warnings else ""
            return ("Tu código escribió en la salida de errores (stderr) durante las pruebas ocultas, y eso cuenta "
                    f"como fallo{detail}. Evita los avisos: suelen indicar desbordamientos o divisiones por cero.")
    return None


def spanish_traceback(line: str) -> str:
    """IPython's English traceback headings in Spanish (the code lines stay as they are, without colours)."""
    line = ANSI.sub("", line).replace("Traceback (most recent call last)", "Traza del error (la llamada más reciente, al final)")
    line = re.sub(r"Cell (In\[\d+\]), line (\d+)", r"Celda \1, línea \2", line)
    return re.sub(r"(?m)^File (\S+), in ", r"Archivo \1, en ", line)


def _clean_output(out, prefixes: list[str]) -> None:
    if out.get("output_type") == "error":
        out["traceback"] = [spanish_traceback(strip_paths(line, prefixes)) for line in out.get("traceback", [])]
        out["evalue"] = strip_paths(str(out.get("evalue", "")), prefixes)
    elif out.get("output_type") == "stream":
        out["text"] = strip_paths(out.get("text", ""), prefixes)
    for mime in ("text/plain", "text/html"):
        if mime in out.get("data", {}):
            value = out["data"][mime]
            out["data"][mime] = strip_paths("".join(value) if isinstance(value, list) else value, prefixes)


class StudentFeedback(Preprocessor):
    """Hide hidden tests and grader paths; add the exercise summary to resources['curso']."""

    enabled = Bool(True).tag(config=True)  # nbconvert's preprocessors are off unless enabled

    def preprocess(self, nb, resources):
        prefixes = grader_paths()
        titles = exercise_titles(nb)
        exercises: dict[str, dict] = {}
        for cell in nb.cells:
            meta = cell.metadata.get("nbgrader", {})
            if cell.cell_type == "code" and HIDDEN_BEGIN in cell.source:
                message = hidden_message(cell.outputs)
                meta["curso_tipo"] = "oculta"
                if message is None:
                    cell.outputs = [new_output("stream", name="stdout", text="✔ Pruebas ocultas superadas.\n")]
                else:
                    text = strip_paths(message, prefixes)
                    cell.outputs = [new_output("error", ename="Prueba oculta", evalue=text, traceback=[f"✘ {text}"])]
            elif cell.cell_type == "code":
                if meta.get("grade") and not meta.get("solution"):
                    meta["curso_tipo"] = "visible"
                for out in cell.outputs:
                    _clean_output(out, prefixes)
            ex = exercise_of(meta.get("grade_id", ""))
            if ex and meta.get("grade"):
                row = exercises.setdefault(ex, {"id": ex, "title": titles.get(ex, ex), "score": 0.0, "points": 0.0})
                row["score"] += float(meta.get("score") or 0)
                row["points"] += float(meta.get("points") or 0)
        rows = sorted(exercises.values(), key=lambda r: int(r["id"][2:]))
        resources["curso"] = {"exercises": rows, "score": sum(r["score"] for r in rows),
                              "points": sum(r["points"] for r in rows)}
        return nb, resources
