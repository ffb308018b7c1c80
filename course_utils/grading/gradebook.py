"""The gradebook: nbgrader's SQLite database, made whole on the first run, and its scores.

nbgrader creates the gradebook by running `alembic` by name; `tools_on_path` makes that work
when the course is called as `.venv/bin/python -m course_utils grade …` from a shell without
the venv, and `ensure_gradebook` never leaves a half-made database behind.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from course_utils.grading import COURSE_ID


def tools_on_path() -> None:
    """Put this Python's bin/ first on PATH: nbgrader runs `alembic` by name, here and in its subprocesses.

    Without it, `.venv/bin/python -m course_utils grade …` from a shell without the venv fails.
    """
    bindir = str(Path(sys.executable).parent)
    if bindir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")


def db_url(cdir: Path) -> str:
    """The gradebook URL, as grading/nbgrader_config.py computes it."""
    return os.environ.get("NBGRADER_DB_URL", f"sqlite:///{cdir / 'gradebook.db'}")


def ensure_gradebook(cdir: Path) -> None:
    """Create the SQLite gradebook in one piece, or repair one left half-made by a failed first run.

    nbgrader creates the tables and then asks `alembic` for the schema version; when that fails
    (alembic not on PATH) it leaves a database without version that later runs take as complete.
    Here the database is built under a temporary name and renamed only when whole.
    """
    import sqlite3

    from nbgrader.api import Gradebook, get_alembic_version

    tools_on_path()
    url = db_url(cdir)
    if not url.startswith("sqlite:///"):
        return  # a server database (PostgreSQL…): nbgrader creates it
    path = Path(url.removeprefix("sqlite:///"))
    if path.exists():
        with sqlite3.connect(path) as db:
            tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            if tables and "alembic_version" not in tables:  # half-made by an earlier failed run
                db.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)")
                db.execute("INSERT INTO alembic_version (version_num) VALUES (?)", (get_alembic_version(),))
        return
    tmp = path.with_name(f".{path.name}.{os.getpid()}.nuevo")
    try:
        Gradebook(f"sqlite:///{tmp}", course_id=COURSE_ID).close()
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def scores(cdir: Path, assignment: str) -> dict[str, tuple[float, float]] | None:
    """{student: (score, max)} for `assignment`, or None when the gradebook does not know it."""
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(db_url(cdir), course_id=COURSE_ID) as gb:
        try:
            subs = gb.find_assignment(assignment).submissions
        except MissingEntry:
            return None
        return {s.student_id: (float(s.score), float(s.max_score)) for s in subs}
