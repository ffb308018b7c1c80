"""The grader's half of the guard (see `course_utils.grading.guard`): what to watch, and the verdict.

- `notebook_spec(source_nb)`: the modules the assignment's locked cells import and the names its
  test cells read from the notebook's namespace; `grade.autograde` hands it to the guarded kernel.
- `GuardVerdict`: nbgrader autograde preprocessor, after execution and before the grades are saved.
  It runs in the grader's process (never student code) and reads the guard's report that follows
  every cell: a graded test cell whose report is missing or lists changes gets a Spanish
  "Manipulación detectada" error (so 0 points), and the notebook's metadata says what changed.
- `tampering(nb)`: what an autograded notebook says was replaced (for the summary and the CSV).
"""

from __future__ import annotations

import ast
import builtins
from typing import Any

from nbconvert.preprocessors import Preprocessor
from nbformat.v4 import new_output
from traitlets import Bool

from course_utils.grading.guard import MIME

ALWAYS = ("numpy", "numpy.testing", "course_utils.checks")
TAMPER_ENAME = "Manipulación detectada"
TAMPER_NOTE = "manipulación de las pruebas: revisar a mano"


def _imports(tree: ast.AST) -> dict[str, str]:
    """{local name: "module" or "module:attr"} bound by the import statements of a cell."""
    out = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                out[a.asname or a.name.split(".")[0]] = a.name if a.asname else a.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for a in node.names:
                if a.name != "*":
                    out[a.asname or a.name] = f"{node.module}:{a.name}"
    return out


def _free_names(tree: ast.AST) -> set[str]:
    """Names a cell reads but never binds itself (approximately: any binding anywhere in the cell)."""
    loaded, bound = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (loaded if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound |= {(a.asname or a.name).split(".")[0] for a in node.names}
    return loaded - bound


def watch_spec(cells: list[tuple[str, bool]]) -> dict[str, Any]:
    """The guard's spec from the source's locked code cells: [(source, is_graded_test)].

    modules: what any locked cell imports (and its parent packages); aliases: names a graded test
    cell reads from the notebook's namespace that are builtins or imported by a locked cell.
    """
    modules, imported, free = set(ALWAYS), {}, set()
    for source, is_test in cells:
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        names = _imports(tree)
        imported.update(names)
        for target in names.values():
            module = target.split(":")[0]
            parts = module.split(".")
            modules |= {".".join(parts[:i]) for i in range(1, len(parts) + 1)}
        if is_test:
            free |= _free_names(tree)
    aliases = {n: imported[n] for n in free if n in imported}
    aliases |= {n: f"builtins:{n}" for n in free if n not in imported and hasattr(builtins, n)}
    return {"modules": sorted(modules), "aliases": dict(sorted(aliases.items()))}


def notebook_spec(nb) -> dict[str, Any]:
    """`watch_spec` of an nbgrader source notebook (locked code cells that are not solutions)."""
    cells = []
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and not meta.get("solution"):
            cells.append((cell.source, bool(meta.get("grade"))))
    return watch_spec(cells)


class GuardVerdict(Preprocessor):
    """Zero every graded test cell whose guard report is missing or lists changes; mark the notebook."""

    enabled = Bool(True).tag(config=True)
    required = Bool(False, help="The guarded kernel was used (set by course_utils.grading.grade)").tag(config=True)

    def preprocess(self, nb, resources):
        found: set[str] = set()
        cells: list[str] = []
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            reports = [o for o in cell.outputs if MIME in o.get("data", {})]
            cell.outputs = [o for o in cell.outputs if MIME not in o.get("data", {})]
            changes = [c for r in reports for c in r["data"][MIME].get("cambios", [])]
            meta = cell.metadata.get("nbgrader", {})
            is_test = meta.get("grade") and not meta.get("solution")
            if self.required and is_test and not reports and cell.get("execution_count") is not None:
                changes = ["el informe del vigilante (¿núcleo modificado?)"]
            found |= set(changes)
            if changes and is_test:
                cells.append(meta.get("grade_id", ""))
                text = (f"Se modificó lo que usan las pruebas ({', '.join(sorted(set(changes))[:8])}); "
                        "esta prueba no cuenta y la entrega queda para revisión manual.")
                cell.outputs.append(new_output("error", ename=TAMPER_ENAME, evalue=text, traceback=[f"✘ {text}"]))
        if found:
            nb.metadata["curso_vigilante"] = {"cambios": sorted(found), "celdas": cells}
        return nb, resources


def tampering(nb) -> list[str]:
    """What the guard saw replaced in an autograded notebook (empty: nothing)."""
    return list(nb.metadata.get("curso_vigilante", {}).get("cambios", []))
