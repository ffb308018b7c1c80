"""Colab/Binder badges, the Colab install line and the README table, from one setting.

The repository name and branch live in pyproject.toml under [tool.course_utils].
`python -m course_utils badges` rewrites, in every notebook, the badge line of
the title cell and the `git+https://github.com/...` install string of the setup
cell, and the table of notebooks in README.md. `--check` only reports what is
out of date (the tests use it).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

REPO_ROOT = Path(__file__).resolve().parents[1]
BADGE_PREFIX = "[![Abrir en Colab]"
INSTALL_RE = re.compile(r"git\+https://github\.com/[\w.-]+/[\w.-]+(?:\.git)?@[\w./-]+")
TABLE_START, TABLE_END = "<!-- cuadernos:inicio -->", "<!-- cuadernos:fin -->"


@dataclass(frozen=True)
class Config:
    repository: str  # "owner/name"
    branch: str = "main"


def load_config(root: Path = REPO_ROOT) -> Config:
    data = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    conf = data.get("tool", {}).get("course_utils", {})
    if "/" not in conf.get("repository", ""):
        raise ValueError("Falta [tool.course_utils] repository = 'dueño/nombre' en pyproject.toml.")
    return Config(conf["repository"], conf.get("branch", "main"))


def colab_url(cfg: Config, rel: str) -> str:
    return f"https://colab.research.google.com/github/{cfg.repository}/blob/{cfg.branch}/{rel}"


def binder_url(cfg: Config, rel: str) -> str:
    return f"https://mybinder.org/v2/gh/{cfg.repository}/{cfg.branch}?labpath={quote(rel, safe='')}"


def badge_line(cfg: Config, rel: str) -> str:
    return (f"{BADGE_PREFIX}(https://colab.research.google.com/assets/colab-badge.svg)]({colab_url(cfg, rel)}) "
            f"[![Abrir en Binder](https://mybinder.org/badge_logo.svg)]({binder_url(cfg, rel)})")


def install_spec(cfg: Config) -> str:
    return f"git+https://github.com/{cfg.repository}@{cfg.branch}"


def notebook_paths(root: Path = REPO_ROOT) -> list[Path]:
    return sorted(p for p in (root / "notebooks").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)


def _with_badge(source: str, line: str) -> str:
    lines = source.splitlines()
    for i, text in enumerate(lines):
        if text.startswith(BADGE_PREFIX):
            lines[i] = line
            return "\n".join(lines)
    # Insert after the first heading line, separated by blank lines.
    at = next((i for i, t in enumerate(lines) if t.startswith("#")), -1) + 1
    return "\n".join(lines[:at] + ["", line] + ([""] if at < len(lines) and lines[at].strip() else []) + lines[at:])


def update_notebook(path: Path, cfg: Config, root: Path = REPO_ROOT, write: bool = True) -> bool:
    """Bring one notebook's badge and install line up to date; return True if it changed."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    rel = path.relative_to(root).as_posix()
    changed = False
    title = next((c for c in nb.cells if c.cell_type == "markdown"), None)
    if title is not None:
        new = _with_badge(title.source, badge_line(cfg, rel))
        changed |= new != title.source
        title.source = new
    for cell in nb.cells:
        if cell.cell_type == "code" and INSTALL_RE.search(cell.source):
            new = INSTALL_RE.sub(install_spec(cfg), cell.source)
            changed |= new != cell.source
            cell.source = new
    if changed and write:
        nbformat.write(nb, path)
    return changed


def notebook_title(path: Path) -> str:
    import nbformat

    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            first = cell.source.strip().splitlines()[0].lstrip("# ").strip()
            return first.split(" — ", 1)[-1]
    return path.stem


def readme_table(cfg: Config, root: Path = REPO_ROOT) -> str:
    rows = ["| Módulo | Cuaderno | Colab | Binder |", "|---|---|---|---|"]
    for path in notebook_paths(root):
        rel = path.relative_to(root).as_posix()
        rows.append(f"| {path.parent.name} | [{notebook_title(path)}]({rel}) | "
                    f"[![Colab](https://colab.research.google.com/assets/colab-badge.svg)]({colab_url(cfg, rel)}) | "
                    f"[![Binder](https://mybinder.org/badge_logo.svg)]({binder_url(cfg, rel)}) |")
    return "\n".join(rows)


def update_readme(cfg: Config, root: Path = REPO_ROOT, write: bool = True) -> bool:
    readme = root / "README.md"
    text = readme.read_text(encoding="utf-8")
    if TABLE_START not in text or TABLE_END not in text:
        raise ValueError(f"README.md debe contener los marcadores {TABLE_START} y {TABLE_END}.")
    head, rest = text.split(TABLE_START, 1)
    _, tail = rest.split(TABLE_END, 1)
    new = f"{head}{TABLE_START}\n{readme_table(cfg, root)}\n{TABLE_END}{tail}"
    if new != text and write:
        readme.write_text(new, encoding="utf-8")
    return new != text


def sync(root: Path = REPO_ROOT, write: bool = True) -> list[str]:
    """Update (or, with write=False, only check) every notebook and the README; return what changed."""
    cfg = load_config(root)
    changed = [p.relative_to(root).as_posix() for p in notebook_paths(root) if update_notebook(p, cfg, root, write)]
    if update_readme(cfg, root, write):
        changed.append("README.md")
    return changed
