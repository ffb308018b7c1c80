"""`python -m course_utils` sub-commands other than `run` (tested in test_run.py)."""

import subprocess
import sys
from pathlib import Path

import pytest

from course_utils import cli

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def test_help_is_spanish():
    out = subprocess.run([sys.executable, "-m", "course_utils", "run", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "modo rápido" in out.stdout and "--device" in out.stdout


def test_data_list(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path))
    assert cli.main(["data", "list"]) == 0
    out = capsys.readouterr().out
    assert "mnist" in out and "quijote" in out and "Licencias" in out


def test_data_fetch_offline_fails_with_spanish_advice(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("COURSE_DATA_MIRROR", raising=False)
    assert cli.main(["data", "fetch", "tinyshakespeare"]) == 1
    assert "COURSE_DATA_MIRROR" in capsys.readouterr().err
    assert cli.main(["data", "fetch", "no-existe"]) == 1


@pytest.mark.skipif(not SHARED_DATA.is_dir(), reason="../shared/data not present")
def test_data_fetch_from_mirror(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("COURSE_DATA_MIRROR", str(SHARED_DATA))
    assert cli.main(["data", "fetch", "mnist", "quijote"]) == 0
    assert "4 archivos verificados" in capsys.readouterr().out
    assert (tmp_path / "mnist" / "t10k-labels-idx1-ubyte.gz").is_file()
