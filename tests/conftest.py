"""Shared test set-up: headless, offline, non-interactive matplotlib."""

import os
from pathlib import Path

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ["COURSE_HEADLESS"] = "1"
os.environ["COURSE_OFFLINE"] = "1"  # the suite never needs the internet

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


@pytest.fixture
def report_file(tmp_path, monkeypatch):
    """Point course_utils.report at a fresh JSONL file and return its path."""
    path = tmp_path / "metrics.jsonl"
    monkeypatch.setenv("COURSE_REPORT_FILE", str(path))
    return path


@pytest.fixture
def offline_texts(monkeypatch, tmp_path):
    """No network, an empty cache and no mirror: texts come from the copies packaged in course_utils."""
    monkeypatch.setenv("COURSE_OFFLINE", "1")
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("COURSE_DATA_MIRROR", raising=False)
    monkeypatch.delenv("COURSE_REPORT_FILE", raising=False)
