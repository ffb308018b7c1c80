import math

import pytest

from course_utils.report import Metric, note_data, read_entries, record


def test_record_prints_spanish_and_writes_entry(report_file, capsys):
    m = record("precision_test", 0.97, target=0.95)
    assert m.met is True
    out = capsys.readouterr().out
    assert "precision_test = 0.97" in out and "objetivo ≥ 0.95" in out and "cumple" in out
    metrics, data = read_entries(report_file)
    assert metrics == [Metric("precision_test", 0.97, 0.95, True, "")]
    assert data == []


def test_lower_is_better_and_missed_target(report_file, capsys):
    assert record("error", 0.2, target=0.1, higher_is_better=False).met is False
    assert "NO cumple" in capsys.readouterr().out
    assert record("error", 0.05, target=0.1, higher_is_better=False).met is True
    assert record("sin_objetivo", 3.0).met is None


def test_nan_never_meets_a_target():
    assert Metric("x", math.nan, target=0.0, higher_is_better=False).met is False
    assert Metric("x", math.inf, target=0.0).met is False


def test_record_accepts_numpy_and_torch_scalars(report_file):
    import numpy as np
    import torch

    record("a", np.float32(0.5))
    record("b", torch.tensor(0.25))
    metrics, _ = read_entries(report_file)
    assert [m.value for m in metrics] == [0.5, 0.25]


def test_record_rejects_non_numbers_in_spanish():
    with pytest.raises(TypeError, match="debe ser un número"):
        record("x", "alto")


def test_note_data_and_no_file_without_env(report_file, monkeypatch, tmp_path):
    note_data("mnist", "fallback", "5.000 imágenes")
    _, data = read_entries(report_file)
    assert data == [{"dataset": "mnist", "source": "fallback", "detail": "5.000 imágenes"}]
    monkeypatch.delenv("COURSE_REPORT_FILE")
    record("x", 1.0)  # prints, writes nothing
    assert read_entries(tmp_path / "missing.jsonl") == ([], [])


def test_speed_metrics_are_recognised_by_unit():
    assert Metric("t", 3.0, 60.0, False, " s").is_speed
    assert Metric("g", 100.0, 10.0, True, " GFLOP/s").is_speed
    assert not Metric("acc", 0.9, 0.8).is_speed
