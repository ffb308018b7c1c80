import shutil
from pathlib import Path

import nbformat
import pytest

from course_utils import badges

REPO_ROOT = Path(__file__).resolve().parents[1]


def test_committed_badges_agree_with_configuration():
    """Every notebook's badge line, install line and the README table match pyproject.toml."""
    assert badges.sync(REPO_ROOT, write=False) == [], "Ejecuta: python -m course_utils badges"


def _mini_repo(tmp_path: Path, repository: str) -> Path:
    (tmp_path / "notebooks" / "01_intro").mkdir(parents=True)
    (tmp_path / "pyproject.toml").write_text(f'[tool.course_utils]\nrepository = "{repository}"\nbranch = "dev"\n')
    (tmp_path / "README.md").write_text(f"# Curso\n\n{badges.TABLE_START}\nvieja\n{badges.TABLE_END}\nfin\n")
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Módulo 01 · Lección 1 — Hola\n\nTexto."),
        nbformat.v4.new_code_cell('pip = "course_utils @ git+https://github.com/viejo/repo@main"'),
    ]
    nbformat.write(nb, tmp_path / "notebooks" / "01_intro" / "01_hola.ipynb")
    return tmp_path


def test_sync_inserts_and_rewrites(tmp_path):
    root = _mini_repo(tmp_path, "ana/curso")
    assert set(badges.sync(root)) == {"notebooks/01_intro/01_hola.ipynb", "README.md"}
    assert badges.sync(root, write=False) == []  # idempotent
    nb = nbformat.read(root / "notebooks/01_intro/01_hola.ipynb", as_version=4)
    title, code = nb.cells[0].source, nb.cells[1].source
    assert "colab.research.google.com/github/ana/curso/blob/dev/notebooks/01_intro/01_hola.ipynb" in title
    assert "mybinder.org/v2/gh/ana/curso/dev?labpath=notebooks%2F01_intro%2F01_hola.ipynb" in title
    assert title.splitlines()[0] == "# Módulo 01 · Lección 1 — Hola" and "Texto." in title
    assert "git+https://github.com/ana/curso@dev" in code
    readme = (root / "README.md").read_text()
    assert "vieja" not in readme and "[Hola](notebooks/01_intro/01_hola.ipynb)" in readme and readme.endswith("fin\n")
    # Changing the configured name makes the check fail until badges runs again.
    (root / "pyproject.toml").write_text('[tool.course_utils]\nrepository = "otra/cosa"\n')
    assert badges.sync(root, write=False) != []


def test_missing_configuration_or_markers(tmp_path):
    root = _mini_repo(tmp_path, "ana/curso")
    (root / "README.md").write_text("# sin marcadores\n")
    with pytest.raises(ValueError, match="marcadores"):
        badges.sync(root)
    (root / "pyproject.toml").write_text("[tool.other]\n")
    with pytest.raises(ValueError, match="repository"):
        badges.load_config(root)
