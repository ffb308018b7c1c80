"""The papermill runner on a tiny fake course: statuses, parameters, report, exit codes."""

import json

import nbformat
import pytest

from course_utils import cli
from course_utils.run import discover, run_course

HEADER = "from course_utils.report import record, note_data\n"


def _nb(path, *codes, tagged=True):
    cells = [nbformat.v4.new_markdown_cell("# Prueba")]
    params = nbformat.v4.new_code_cell('QUICK = False\nDEVICE = "auto"\nSEED = 0')
    if tagged:
        params.metadata["tags"] = ["parameters"]
    cells.append(params)
    cells += [nbformat.v4.new_code_cell(HEADER + c) for c in codes]
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)


@pytest.fixture(scope="module")
def fake_course(tmp_path_factory):
    root = tmp_path_factory.mktemp("curso")
    nbs = root / "notebooks"
    _nb(nbs / "01_a" / "01_bien.ipynb",
        "import os\nrecord('quick', float(QUICK), target=1.0)\nrecord('semilla', SEED)\n"
        "note_data('mnist', 'fallback', 'subconjunto')\nopen('cwd.txt', 'w').write(os.getcwd())")
    _nb(nbs / "01_a" / "02_falla.ipynb", "raise ValueError('algo salió mal')")
    _nb(nbs / "02_b" / "01_objetivo.ipynb", "record('precision', 0.5, target=0.9)")
    _nb(nbs / "02_b" / "tarea_02.ipynb", "raise NotImplementedError()")  # assignments are not run
    build = root / "build"
    report = run_course(quick=True, device="cpu", seed=3, notebooks_dir=nbs, build=build, progress=False)
    return root, build, report


def test_discover_orders_lessons_and_skips_assignments(fake_course):
    root, _, _ = fake_course
    names = [p.relative_to(root / "notebooks").as_posix() for p in discover(root / "notebooks")]
    assert names == ["01_a/01_bien.ipynb", "01_a/02_falla.ipynb", "02_b/01_objetivo.ipynb"]
    assert [p.name for p in discover(root / "notebooks", only="02_b/*")] == ["01_objetivo.ipynb"]
    assert [p.name for p in discover(root / "notebooks", only="falla")] == ["02_falla.ipynb"]


def test_statuses_parameters_and_cwd(fake_course):
    root, build, report = fake_course
    by_name = {r["notebook"]: r for r in report["notebooks"]}
    ok = by_name["01_a/01_bien.ipynb"]
    assert ok["status"] == "ok" and ok["device"] == "cpu" and ok["seconds"] > 0
    assert {m["name"]: m["value"] for m in ok["metrics"]} == {"quick": 1.0, "semilla": 3.0}
    assert ok["data"] == [{"dataset": "mnist", "source": "fallback", "detail": "subconjunto"}]
    assert (root / "notebooks" / "01_a" / "cwd.txt").read_text() == str(root / "notebooks" / "01_a")
    bad = by_name["01_a/02_falla.ipynb"]
    assert bad["status"] == "fallo" and "ValueError: algo salió mal" in bad["error"]
    assert by_name["02_b/01_objetivo.ipynb"]["status"] == "objetivo no cumplido"
    assert report["ok"] is False
    assert (build / "executed" / "01_a" / "01_bien.ipynb").exists()
    assert (build / "executed" / "01_a" / "02_falla.ipynb").exists()  # kept for debugging


def test_report_files(fake_course):
    _, build, report = fake_course
    assert json.loads((build / "report.json").read_text()) == report
    md = (build / "report.md").read_text()
    for text in ("Informe de ejecución", "núcleos", "torch", "mnist (fallback ⚠️)", "❌ fallo",
                 "| 02_b/01_objetivo.ipynb | precision | 0.5 | ≥ 0.9 | ❌ |", "algo salió mal"):
        assert text in md
    assert report["machine"]["cores"] >= 1 and report["machine"]["gpu"] is None


def test_cli_exit_codes(tmp_path, capsys):
    nbs = tmp_path / "notebooks"
    _nb(nbs / "01_a" / "01_bien.ipynb", "record('x', 1.0, target=1.0)")
    args = ["run", "--quick", "--device", "cpu", "--notebooks", str(nbs), "--build", str(tmp_path / "b")]
    assert cli.main(args) == 0
    assert "1 correctos" in capsys.readouterr().out
    assert cli.main(args + ["--only", "nada"]) == 2
    assert "No hay cuadernos" in capsys.readouterr().err


def test_side_by_side_gives_the_same_report_in_course_order(fake_course, tmp_path):
    root, _, report = fake_course
    threads = "import torch, os\nrecord('hilos', torch.get_num_threads())\nrecord('env', float(os.environ['COURSE_THREADS']))"
    nbs = tmp_path / "notebooks"
    for name in ("01_a/01_uno.ipynb", "01_a/02_dos.ipynb", "02_b/01_tres.ipynb"):
        _nb(nbs / name, threads)
    _nb(nbs / "01_a" / "03_falla.ipynb", "raise ValueError('algo salió mal')")
    together = run_course(quick=True, device="cpu", notebooks_dir=nbs, build=tmp_path / "b", progress=False, jobs=2)
    names = [r["notebook"] for r in together["notebooks"]]
    assert names == ["01_a/01_uno.ipynb", "01_a/02_dos.ipynb", "01_a/03_falla.ipynb", "02_b/01_tres.ipynb"]
    assert "ValueError: algo salió mal" in together["notebooks"][2]["error"]
    for r in together["notebooks"][:2] + together["notebooks"][3:]:
        assert r["status"] == "ok" and {m["name"]: m["value"] for m in r["metrics"]} == {"hilos": 1.0, "env": 1.0}
    assert (tmp_path / "b" / "report.md").exists()
