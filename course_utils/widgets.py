"""Widgets that work on Colab (ipywidgets 7.7), JupyterLab (8.x) and headless.

Only API common to ipywidgets 7.7 and 8.x is used: FloatSlider, IntSlider,
Dropdown, Checkbox, Button, Output, Image, HBox, VBox, Label, interactive.
Headless (papermill, CI), `interactive_plot` still calls the plotting function
once with the default values, so the notebook shows a static figure and the
callback path is exercised.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import ipywidgets as w
import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from course_utils.setup import is_headless


def slider(value: float, min: float, max: float, step: float | None = None, description: str = "") -> w.Widget:
    """A float or int slider (int when all arguments are ints), with a wide label."""
    style = {"description_width": "initial"}
    if all(isinstance(v, int) for v in (value, min, max)) and (step is None or isinstance(step, int)):
        return w.IntSlider(value=value, min=min, max=max, step=step or 1, description=description,
                           style=style, continuous_update=False)
    return w.FloatSlider(value=value, min=min, max=max, step=step or (max - min) / 100,
                         description=description, style=style, continuous_update=False, readout_format=".3g")


def log_slider(value: float, min_exp: float, max_exp: float, description: str = "") -> w.Widget:
    """A slider over powers of ten (e.g. learning rates 1e-4 ... 1e1)."""
    return w.FloatLogSlider(value=value, base=10, min=min_exp, max=max_exp, step=0.1,
                            description=description, style={"description_width": "initial"},
                            continuous_update=False, readout_format=".1e")


def dropdown(options: list[Any] | dict[str, Any], value: Any = None, description: str = "") -> w.Widget:
    opts = options if isinstance(options, dict) else list(options)
    first = next(iter(opts.values())) if isinstance(opts, dict) else opts[0]
    return w.Dropdown(options=opts, value=first if value is None else value, description=description,
                      style={"description_width": "initial"})


def interactive_plot(fn: Callable[..., Figure | None], **controls: w.Widget) -> w.interactive:
    """Call `fn(**values)` whenever a control changes and show its figure.

    `fn` draws with matplotlib (and should return the figure). Returns the
    `ipywidgets.interactive` object: `.kwargs` holds the current values and
    `.result` what `fn` returned last; setting a control's `.value` re-runs `fn`
    (that is how the tests drive it headless). Headless (papermill, CI) the first
    figure is also shown in the cell's output, and an error in `fn` is raised
    instead of being printed inside the widget, so a broken widget fails the run.
    """
    errors: list[BaseException] = []
    calls: list[int] = []

    def wrapped(**kwargs: Any) -> Figure | None:
        calls.append(1)
        try:
            fig = fn(**kwargs)
        except Exception as exc:
            errors.append(exc)
            raise
        plt.show()
        return fig

    ui = w.interactive(wrapped, **controls)
    if not calls:  # ipywidgets 7.x draws only when displayed; 8.x already drew
        ui.update()
    if is_headless():
        if errors:
            raise RuntimeError(f"El widget falló al dibujar: {errors[0]!r}") from errors[0]
        if isinstance(ui.result, Figure):
            from IPython.display import display

            display(ui.result)
    return ui


def figure_to_png(fig: Figure, dpi: int = 80) -> bytes:
    """Render a matplotlib figure to PNG bytes (for an `ipywidgets.Image`, no flicker)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    return buf.getvalue()


def show(widget: w.Widget) -> w.Widget:
    """Display a widget (no-op headless beyond the text repr) and return it."""
    from IPython.display import display

    display(widget)
    return widget
