"""The guard's snapshot, in this process: every trick of issue 10 is seen, ordinary work is not."""

from __future__ import annotations

import builtins
import sys
import types

import numpy as np
import numpy.testing
import pytest

import course_utils.checks
from course_utils.grading.guard import Snapshot
from course_utils.grading.verdict import notebook_spec, watch_spec

SETUP = "import numpy as np\nfrom scipy.special import expit\nfrom course_utils.checks import check_close, check_type"
TEST = "check_close(expit(z), 0.5)\nassert isinstance(np.ones(2), np.ndarray) and len(x) == 2"


class Shell:
    """The part of an IPython shell the snapshot reads for the notebook's names."""

    def __init__(self):
        self.user_ns: dict = {}


@pytest.fixture
def snap(monkeypatch):
    """A fresh snapshot; monkeypatch undoes every trick afterwards."""
    shell = Shell()
    exec(SETUP, shell.user_ns)  # noqa: S102 - the setup cell
    snapshot = Snapshot(watch_spec([(SETUP, False), (TEST, True)]))
    snapshot.shell = shell
    assert snapshot.changes() == []
    return snapshot, shell, monkeypatch


def test_spec_lists_imported_modules_and_the_names_tests_read():
    spec = watch_spec([(SETUP, False), (TEST, True)])
    assert {"numpy", "scipy.special", "scipy", "course_utils.checks", "numpy.testing"} <= set(spec["modules"])
    assert spec["aliases"] == {"check_close": "course_utils.checks:check_close", "expit": "scipy.special:expit",
                               "isinstance": "builtins:isinstance", "len": "builtins:len", "np": "numpy"}


def test_ordinary_work_is_not_a_change(snap):
    snapshot, shell, _ = snap
    exec("import math, warnings\nfrom numpy import *\nwarnings.filterwarnings('ignore')\n"  # noqa: S102
         "np.set_printoptions(precision=3)\nnp.random.seed(0)\nx = [1, 2]\nresultado = sum(x)\n"
         "def sigmoid(z):\n    return 1 / (1 + np.exp(-z))\n", shell.user_ns)
    import torch

    torch.manual_seed(0)
    assert snapshot.changes() == []


@pytest.mark.parametrize("trick, seen", [
    (lambda mp, ns: mp.setattr(course_utils.checks, "check_close", lambda *a, **k: None),
     "course_utils.checks.check_close"),
    (lambda mp, ns: mp.setattr(course_utils.checks.check_shape, "__code__", (lambda *a, **k: None).__code__),
     "course_utils.checks.check_shape"),
    (lambda mp, ns: mp.setattr(numpy.testing, "assert_allclose", lambda *a, **k: None),
     "numpy.testing.assert_allclose"),
    (lambda mp, ns: mp.setattr(np, "allclose", lambda *a, **k: True), "numpy.allclose"),
    (lambda mp, ns: mp.delattr(np, "isclose"), "numpy.isclose"),
    (lambda mp, ns: mp.setitem(sys.modules, "course_utils.checks", types.ModuleType("falso")),
     "sys.modules['course_utils.checks']"),
    (lambda mp, ns: mp.setattr(sys, "stderr", open("/dev/null", "w")), "sys.stderr"),  # noqa: SIM115
    (lambda mp, ns: ns.__setitem__("check_close", lambda *a, **k: None), "nombre 'check_close' del cuaderno"),
    (lambda mp, ns: ns.__setitem__("len", lambda *a: 2), "nombre 'len' del cuaderno"),
    (lambda mp, ns: ns.pop("np"), "nombre 'np' del cuaderno (borrado)"),
])
def test_every_trick_is_seen(snap, trick, seen):
    snapshot, shell, monkeypatch = snap
    trick(monkeypatch, shell.user_ns)
    assert seen in snapshot.changes()


def test_a_replaced_builtin_is_seen_and_does_not_blind_the_guard(snap):
    snapshot, _, monkeypatch = snap
    monkeypatch.setattr(np, "allclose", lambda *a, **k: True)
    saved = builtins.id, builtins.isinstance
    try:  # restored before pytest itself needs them again
        builtins.id, builtins.isinstance = (lambda obj: 0), (lambda *a: True)
        changes = snapshot.changes()
    finally:
        builtins.id, builtins.isinstance = saved
    assert {"builtins.id", "builtins.isinstance", "numpy.allclose"} <= set(changes)


def test_every_assignment_has_a_spec():
    import nbformat

    from course_utils.grading import grade

    for assignment in grade.assignments(grade.course_dir()):
        nb = nbformat.read(grade.course_dir() / "source" / assignment / f"{assignment}.ipynb", as_version=4)
        spec = notebook_spec(nb)
        assert "course_utils.checks" in spec["modules"] and "numpy" in spec["modules"], assignment
