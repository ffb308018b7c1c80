"""Small plotting helpers shared by the lessons (matplotlib only)."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import LinearSegmentedColormap
from matplotlib.figure import Figure

CLASS_COLORS = ("#f59322", "#0877bd", "#2ca02c", "#d62728", "#9467bd")  # Playground's orange/blue first
# Low scores (class 0) orange, high scores (class 1) blue, as in TensorFlow Playground.
PLAYGROUND_CMAP = LinearSegmentedColormap.from_list("playground", ["#f59322", "#e8eaeb", "#0877bd"])


def plot_history(
    history: Mapping[str, Sequence[float]], keys: Sequence[str] | None = None, title: str = "", ax: Axes | None = None
) -> Axes:
    """Plot training curves, e.g. {"train_loss": [...], "val_loss": [...]} against epoch."""
    if ax is None:
        _, ax = plt.subplots()
    for key in keys or list(history):
        values = history[key]
        ax.plot(np.arange(1, len(values) + 1), values, label=key)
    ax.set_xlabel("época")
    ax.set_title(title)
    ax.legend()
    return ax


def decision_grid(
    X: np.ndarray, padding: float = 0.5, resolution: int = 200
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A (resolution x resolution) grid covering the 2-D points X; returns xx, yy, points."""
    x_min, y_min = X.min(axis=0) - padding
    x_max, y_max = X.max(axis=0) + padding
    xx, yy = np.meshgrid(np.linspace(x_min, x_max, resolution), np.linspace(y_min, y_max, resolution))
    return xx, yy, np.c_[xx.ravel(), yy.ravel()]


def plot_decision_boundary(
    predict: Callable[[np.ndarray], np.ndarray],
    X: np.ndarray,
    y: np.ndarray,
    ax: Axes | None = None,
    title: str = "",
    resolution: int = 200,
) -> Axes:
    """Shade the plane by `predict` (class scores or probabilities of class 1) and scatter X."""
    if ax is None:
        _, ax = plt.subplots(figsize=(4.5, 4.5))
    xx, yy, grid = decision_grid(X, resolution=resolution)
    z = np.asarray(predict(grid), dtype=float).reshape(xx.shape)
    ax.contourf(xx, yy, z, levels=20, cmap=PLAYGROUND_CMAP, alpha=0.7)
    ax.contour(xx, yy, z, levels=[0.5], colors="k", linewidths=1)
    for c in np.unique(y):
        m = y == c
        ax.scatter(X[m, 0], X[m, 1], s=14, color=CLASS_COLORS[int(c) % len(CLASS_COLORS)],
                   edgecolors="white", linewidths=0.5, label=f"clase {int(c)}")
    ax.set_title(title)
    ax.set_aspect("equal", adjustable="box")
    return ax


def show_images(
    images: np.ndarray, labels: Sequence[object] | None = None, ncols: int = 8, cmap: str = "gray", size: float = 1.3
) -> Figure:
    """A grid of images (N, H, W) or (N, H, W, C) with optional titles."""
    n = len(images)
    nrows = max(1, int(np.ceil(n / ncols)))
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            ax.imshow(images[i], cmap=cmap)
            if labels is not None:
                ax.set_title(str(labels[i]), fontsize=9)
    fig.tight_layout()
    return fig


def plot_functions(
    x: np.ndarray, functions: Mapping[str, Callable[[np.ndarray], np.ndarray]], ncols: int = 4, title: str = ""
) -> Figure:
    """One small panel per named function of x (e.g. activations and their derivatives)."""
    n = len(functions)
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.2 * ncols, 2.6 * nrows), squeeze=False)
    for ax, (name, fn) in zip(axes.flat, functions.items()):
        ax.plot(x, fn(x))
        ax.set_title(name, fontsize=10)
        ax.axhline(0, color="k", lw=0.5)
        ax.axvline(0, color="k", lw=0.5)
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def save_figure(fig: Figure, name: str, folder: str | Path | None = None) -> Path:
    """Save a figure as PNG to `folder`, $COURSE_FIGURE_DIR (set by the runner) or ./figuras."""
    folder = folder or os.environ.get("COURSE_FIGURE_DIR", "figuras")
    path = Path(folder) / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    return path
