"""Notebook set-up: where we run, seeds, device, plot style, one-line summary.

Every lesson calls `setup_notebook(seed=SEED, device=DEVICE)` once, right after
the `parameters` cell. Heavy frameworks are never imported here unless the
notebook already imported them (TensorFlow alone takes seconds to import).
"""

from __future__ import annotations

import os
import platform
import random
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

# TensorFlow's C++ logging below errors (3 also hides "failed call to cuInit" on machines without a GPU;
# a real TensorFlow error still raises a Python exception).
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

DEVICES = ("auto", "cpu", "cuda")


@contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Send the process's standard error (file descriptor 2, where C++ libraries write) to /dev/null."""
    try:
        saved = os.dup(2)
    except OSError:  # no descriptor 2 (some embedded interpreters): nothing to silence
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        sys.stderr.flush()
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def import_tensorflow() -> tuple[Any, Any]:
    """Import TensorFlow and Keras without their C++ start-up lines in the notebook; return (tf, keras).

    TensorFlow writes "oneDNN custom operations are on…", "Could not find cuda drivers…" and
    similar lines to the process's standard error while it loads, before it reads
    TF_CPP_MIN_LOG_LEVEL: they are harmless, but alarming in a student's output. Call it before
    `setup_notebook`, so that TensorFlow is seeded too.
    """
    with _quiet_stderr():
        import keras
        import tensorflow as tf

        tf.constant(0.0)  # the CUDA probe runs at the first operation: keep it quiet too
    return tf, keras


@dataclass
class Env:
    """What `setup_notebook` found and chose."""

    where: str  # "colab", "binder", "kaggle" or "local"
    device: str  # "cpu" or "cuda"
    seed: int
    gpu_name: str | None = None
    headless: bool = False
    threads: int | None = None  # PyTorch's CPU threads

    def __str__(self) -> str:
        gpu = f" ({self.gpu_name})" if self.gpu_name else ""
        threads = f" · hilos={self.threads}" if self.threads else ""
        return f"entorno={self.where} · dispositivo={self.device}{gpu}{threads} · semilla={self.seed}"


def detect_environment() -> str:
    """Return "colab", "binder", "kaggle" or "local"."""
    if "google.colab" in sys.modules or "COLAB_RELEASE_TAG" in os.environ:
        return "colab"
    if "BINDER_SERVICE_HOST" in os.environ or "BINDER_REPO_URL" in os.environ:
        return "binder"
    if "KAGGLE_KERNEL_RUN_TYPE" in os.environ:
        return "kaggle"
    return "local"


def is_headless() -> bool:
    """True under papermill / CI, where nobody looks at widgets."""
    return bool(os.environ.get("COURSE_HEADLESS") or os.environ.get("CI"))


def seed_everything(seed: int = 0) -> None:
    """Seed Python, NumPy, and PyTorch/TensorFlow when they are importable or loaded."""
    random.seed(seed)
    np.random.seed(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)
    try:
        import torch

        torch.manual_seed(seed)
        if torch.cuda.is_available():
            torch.cuda.manual_seed_all(seed)
    except ImportError:
        pass
    if "tensorflow" in sys.modules or "keras" in sys.modules:
        import keras

        keras.utils.set_random_seed(seed)


def choose_device(device: str = "auto") -> str:
    """Resolve "auto" to "cuda" when PyTorch sees a GPU, otherwise "cpu"."""
    if device not in DEVICES:
        raise ValueError(f"DEVICE debe ser uno de {DEVICES}, no {device!r}.")
    try:
        import torch

        has_cuda = torch.cuda.is_available()
    except ImportError:
        has_cuda = False
    if device == "cuda" and not has_cuda:
        raise RuntimeError(
            "Pediste DEVICE='cuda' pero PyTorch no ve ninguna GPU. En Colab: "
            "Entorno de ejecución → Cambiar tipo de entorno → GPU. En local usa DEVICE='cpu'."
        )
    if device == "auto":
        return "cuda" if has_cuda else "cpu"
    return device


def set_threads() -> int | None:
    """The course's thread policy for PyTorch on the CPU, applied by `setup_notebook`.

    One thread per core (PyTorch's default) when a notebook has the machine to itself: on 2 idle
    cores two threads are 1.3-1.9x faster than one for every kind of lesson measured (MLP, LeNet,
    row-wise GRU, small and large LSTM; docs/benchmarks.md). When notebooks run side by side
    (`python -m course_utils run --jobs 2`, the test suite) the runner sets COURSE_THREADS=1: two
    processes with two threads each on two cores made an MLP step 50x and an LSTM step 2x slower
    than two one-thread processes. Returns the thread count, or None without PyTorch.
    """
    try:
        import torch
    except ImportError:
        return None
    wanted = os.environ.get("COURSE_THREADS", "")
    if wanted.isdigit() and int(wanted) > 0:
        torch.set_num_threads(int(wanted))
    return torch.get_num_threads()


def _gpu_name(device: str) -> str | None:
    if device != "cuda":
        return None
    import torch

    return torch.cuda.get_device_name(0)


def set_plot_style() -> None:
    """A clean, readable matplotlib style shared by all notebooks."""
    import matplotlib as mpl

    mpl.rcParams.update(
        {
            "figure.figsize": (6.4, 4.0),
            "figure.dpi": 100,
            "axes.grid": True,
            "grid.alpha": 0.3,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "font.size": 11,
        }
    )


def versions() -> dict[str, str]:
    """Versions of Python and the main libraries (read from metadata, no imports)."""
    from importlib import metadata

    out = {"python": platform.python_version()}
    for pkg in ("numpy", "torch", "tensorflow", "keras", "transformers", "scikit-learn"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            continue
    return out


def setup_notebook(seed: int = 0, device: str = "auto", quiet: bool = False) -> Env:
    """Seed everything, pick the device, style the plots and print one summary line."""
    seed_everything(seed)
    chosen = choose_device(device)
    set_plot_style()
    env = Env(detect_environment(), chosen, seed, _gpu_name(chosen), is_headless(), set_threads())
    if not quiet:
        v = versions()
        libs = " ".join(f"{k} {v[k]}" for k in ("torch", "tensorflow", "numpy") if k in v)
        print(f"✅ {env} · Python {v['python']} · {libs}")
    return env
