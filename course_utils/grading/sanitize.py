"""Repair student submissions before nbgrader sees them.

Real submissions arrive with Colab metadata, duplicated cells, broken JSON or
an old nbformat. `sanitize_notebook` fixes what can be fixed safely and says
what it did (in Spanish, for the instructor's summary); what cannot be fixed
raises `Ungradable` and the file is left untouched. Deleted graded cells are
put back by nbgrader itself (`OverwriteCells.add_missing_cells = True`).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import nbformat

COLAB_NOTEBOOK_KEYS = ("colab", "accelerator", "gpuClass", "kaggle", "widgets")
COLAB_CELL_KEYS = ("colab", "id", "outputId", "executionInfo", "pycharm")


class Ungradable(Exception):
    """A submission that cannot be graded; the message (Spanish) says why."""


def _load(path: Path) -> dict:
    raw = path.read_bytes()
    if not raw.strip():
        raise Ungradable(f"{path.name} está vacío (0 bytes).")
    try:
        return json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise Ungradable(f"{path.name} no es texto UTF-8: no parece un cuaderno de Jupyter.") from None
    except json.JSONDecodeError as e:
        raise Ungradable(f"{path.name} no es JSON válido (línea {e.lineno}, columna {e.colno}): "
                         "el cuaderno está dañado; pide al alumno que lo vuelva a descargar.") from None


def _strip_colab(nb: nbformat.NotebookNode) -> bool:
    changed = False
    for key in COLAB_NOTEBOOK_KEYS:
        changed |= nb.metadata.pop(key, None) is not None
    for cell in nb.cells:
        for key in COLAB_CELL_KEYS:
            changed |= cell.metadata.pop(key, None) is not None
    return changed


def _drop_duplicate_grade_ids(nb: nbformat.NotebookNode) -> list[str]:
    """Keep the first cell of each nbgrader grade_id; later copies become plain cells."""
    seen: set[str] = set()
    dropped = []
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id is None:
            continue
        if grade_id in seen:
            del cell.metadata["nbgrader"]
            dropped.append(grade_id)
        seen.add(grade_id)
    return dropped


def sanitize_notebook(path: Path, backup_dir: Path | None = None) -> list[str]:
    """Repair `path` in place when needed; return the problems found (Spanish).

    The original is copied to `backup_dir` before any change. Raises
    `Ungradable` when the file cannot be read as a notebook (left untouched).
    """
    data = _load(path)
    if not isinstance(data, dict) or "cells" not in data:
        raise Ungradable(f"{path.name} es JSON pero no un cuaderno de Jupyter (no tiene 'cells').")
    problems = []
    try:
        nb = nbformat.reads(json.dumps(data), as_version=4)
    except Exception as e:  # nbformat raises several types for broken structure
        raise Ungradable(f"{path.name} no tiene el formato de un cuaderno: {e}") from None
    if data.get("nbformat") != 4:
        problems.append(f"convertido de nbformat {data.get('nbformat')} a 4")
    if _strip_colab(nb):
        problems.append("metadatos de Colab eliminados")
    dropped = _drop_duplicate_grade_ids(nb)
    if dropped:
        problems.append("celdas calificables duplicadas ignoradas: " + ", ".join(sorted(set(dropped))))
    ids = [c.get("id") for c in nb.cells]
    if None in ids or len(set(ids)) != len(ids):  # duplicated or missing cell ids: give fresh ones
        for cell in nb.cells:
            cell["id"] = nbformat.corpus.words.generate_corpus_id()
        problems.append("ids de celda repetidos o ausentes regenerados")
    fixes, nb = nbformat.validator.normalize(nb, strip_invalid_metadata=True)
    nb = nbformat.from_dict(nb)
    if fixes:
        problems.append(f"{fixes} reparaciones de formato")
    try:
        nbformat.validate(nb)
    except nbformat.ValidationError as e:
        raise Ungradable(f"{path.name} no es un cuaderno válido y no se puede reparar: {e.message}") from None
    if problems:
        if backup_dir is not None:
            backup_dir.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, backup_dir / path.name)
        nbformat.write(nb, path)
    return problems


def sanitize_submission(folder: Path, backup_dir: Path | None = None) -> list[str]:
    """Sanitize every notebook of one student's submission folder; return all problems."""
    problems = []
    notebooks = sorted(folder.glob("*.ipynb"))
    if not notebooks:
        raise Ungradable("la entrega no contiene ningún cuaderno .ipynb.")
    for path in notebooks:
        problems += [f"{path.name}: {p}" for p in sanitize_notebook(path, backup_dir)]
    return problems
