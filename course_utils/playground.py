"""TensorFlow Playground inside Jupyter: `playground()` builds the widget, `course_utils.toy` trains.

    from course_utils.playground import playground
    playground(dataset="spiral", hidden=(8, 8))   # last line of a cell: shows the widget

The plane and the loss curves are drawn with matplotlib into PNG bytes shown by
an `ipywidgets.Image` (no flicker). ▶ is an `ipywidgets.Play` whose value ticks
in the browser: every tick trains a few epochs and redraws, so nothing needs
threads, and headless (papermill, tests) every callback can be called directly:
`pg.step()`, `pg.controls["dataset"].value = "xor"`, `pg.ticker.value += 1`,
`pg.play()` / `pg.pause()`. Only API common to ipywidgets 7.7 and 8.x is used.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import ipywidgets as w
import numpy as np
from matplotlib.figure import Figure

from course_utils.plots import CLASS_COLORS, PLAYGROUND_CMAP
from course_utils.setup import is_headless
from course_utils.toy import DOMAIN, Config, Experiment
from course_utils.widgets import dropdown, figure_to_png, slider

DATASET_OPTIONS = [("círculo", "circle"), ("XOR (o exclusivo)", "xor"), ("dos gaussianas", "gaussian"), ("espiral", "spiral")]
ACTIVATION_OPTIONS = [("tanh", "tanh"), ("ReLU", "relu"), ("sigmoide", "sigmoid"), ("lineal", "linear")]
REGULARIZATION_OPTIONS = [("ninguna", "none"), ("L1", "L1"), ("L2", "L2")]
LEARNING_RATES = [0.00001, 0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0]
REG_RATES = [0.0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0]
FEATURE_LABELS = {"x1": "X₁", "x2": "X₂", "x1^2": "X₁²", "x2^2": "X₂²", "x1*x2": "X₁·X₂",
                  "sin(x1)": "sin(X₁)", "sin(x2)": "sin(X₂)"}
MAX_LAYERS, MAX_NEURONS = 6, 8
# ipywidgets 8 calls the Play state `playing`; 7.x called it `_playing`.
_PLAYING = "playing" if w.Play.class_traits().get("playing") is not None else "_playing"


def _rate_options(values: list[float], value: float) -> list[tuple[str, float]]:
    """Dropdown options (label, value), adding `value` when it is not one of the usual ones."""
    return [(f"{v:g}", v) for v in sorted(set(values) | {float(value)})]


def _box(title: str, children: list[w.Widget], width: str = "auto", flex: str = "0 0 auto") -> w.VBox:
    return w.VBox([w.HTML(f"<b>{title}</b>"), *children], layout=w.Layout(width=width, padding="0 8px", flex=flex))


class Playground:
    """The widget: controls, a live picture, and an `Experiment` rebuilt when a control asks for it."""

    def __init__(self, config: Config | None = None, epochs_per_step: int = 5, interval_ms: int = 250,
                 resolution: int = 60, dpi: int = 72):
        c = config or Config()
        self.base_config, self.resolution, self.dpi, self.interval_ms = c, resolution, dpi, interval_ms
        self.data_seed = c.seed
        self.init_seed = c.seed if c.init_seed is None else c.init_seed
        self.experiment: Experiment | None = None
        self.error = ""
        self.controls: dict[str, w.Widget] = {
            "dataset": dropdown(DATASET_OPTIONS, c.dataset, "Datos"),
            "noise": slider(round(100 * c.noise), 0, 50, 5, "Ruido (%)"),
            "train_ratio": slider(round(100 * c.train_ratio), 10, 90, 10, "Entrenamiento (%)"),
            "batch_size": slider(int(c.batch_size), 1, 30, 1, "Tamaño de lote"),
            "layers": slider(len(c.hidden), 0, MAX_LAYERS, 1, "Capas ocultas"),
            "activation": dropdown(ACTIVATION_OPTIONS, c.activation, "Activación"),
            "learning_rate": dropdown(_rate_options(LEARNING_RATES, c.learning_rate), float(c.learning_rate),
                                      "Tasa de aprendizaje"),
            "regularization": dropdown(REGULARIZATION_OPTIONS, c.regularization, "Regularización"),
            "reg_rate": dropdown(_rate_options(REG_RATES, c.reg_rate), float(c.reg_rate), "Tasa de regularización"),
            "epochs_per_step": slider(int(epochs_per_step), 1, 50, 1, "Épocas por paso"),
            "show_test": w.Checkbox(value=False, description="mostrar datos de prueba", indent=False),
        }
        sizes = list(c.hidden) + [2] * (MAX_LAYERS - len(c.hidden))
        self.neuron_sliders = [slider(min(int(n), MAX_NEURONS), 1, MAX_NEURONS, 1, f"Neuronas capa {i + 1}")
                               for i, n in enumerate(sizes[:MAX_LAYERS])]
        self.feature_boxes = {name: w.Checkbox(value=name in c.features, description=label, indent=False,
                                               layout=w.Layout(width="auto"))
                              for name, label in FEATURE_LABELS.items()}
        self.ticker = w.Play(value=0, min=0, max=10**9, step=1, interval=interval_ms, show_repeat=False,
                             description="Entrenar")
        self.step_button = w.Button(description="⏭ paso", tooltip="Entrena unas épocas y dibuja")
        self.reset_button = w.Button(description="↺ reiniciar", tooltip="Otros pesos iniciales, mismos datos")
        self.data_button = w.Button(description="🎲 nuevos datos", tooltip="Genera otra muestra del conjunto")
        for name, width in [("learning_rate", "220px"), ("activation", "190px"), ("regularization", "220px"),
                            ("reg_rate", "240px")]:
            self.controls[name].layout.width = width
        for ctl in [*self.neuron_sliders, *self.controls.values()]:
            if isinstance(ctl, (w.IntSlider, w.Dropdown)) and not ctl.layout.width:
                ctl.layout.width = "260px"
        self.status = w.HTML()
        self.image = w.Image(format="png", layout=w.Layout(max_width="100%", height="auto"))
        self._build_figure()
        self._wire()
        self.ui = self._layout()
        self.reset()

    # ------------------------------------------------------------------ state
    def config(self) -> Config:
        """The `Config` the controls describe (raises ValueError in Spanish when it is invalid)."""
        ctl = self.controls
        hidden = tuple(s.value for s in self.neuron_sliders[: ctl["layers"].value])
        features = tuple(name for name, box in self.feature_boxes.items() if box.value)
        return replace(self.base_config, dataset=ctl["dataset"].value, noise=ctl["noise"].value / 100,
                       train_ratio=ctl["train_ratio"].value / 100, batch_size=ctl["batch_size"].value,
                       features=features, hidden=hidden, activation=ctl["activation"].value,
                       learning_rate=ctl["learning_rate"].value, regularization=ctl["regularization"].value,
                       reg_rate=ctl["reg_rate"].value, seed=self.data_seed, init_seed=self.init_seed)

    @property
    def epoch(self) -> int:
        return self.experiment.epoch if self.experiment else 0

    @property
    def playing(self) -> bool:
        return bool(getattr(self.ticker, _PLAYING))

    def play(self) -> None:
        setattr(self.ticker, _PLAYING, True)

    def pause(self) -> None:
        setattr(self.ticker, _PLAYING, False)

    def toggle_play(self) -> None:
        setattr(self.ticker, _PLAYING, not self.playing)

    # ------------------------------------------------------------------ actions
    def reset(self, *_: Any) -> None:
        """Rebuild data and network from the controls, pause, and redraw."""
        self.pause()
        for i, s in enumerate(self.neuron_sliders):
            s.layout.display = "" if i < self.controls["layers"].value else "none"
        try:
            self.experiment, self.error = Experiment(self.config()), ""
        except ValueError as exc:
            self.experiment, self.error = None, str(exc)
        self._redraw(new_data=True)

    def new_weights(self, *_: Any) -> None:
        """Start again from other random weights on the same data (the Playground's reset button)."""
        self.init_seed += 1
        self.reset()

    def new_data(self, *_: Any) -> None:
        """Draw another sample of the same data set (the Playground's "regenerate")."""
        self.data_seed += 1
        self.reset()

    def step(self, *_: Any, epochs: int | None = None) -> None:
        """Train `epochs` (default: the "épocas por paso" slider) and redraw."""
        if self.experiment is None:
            return
        exp = self.experiment
        exp.config.learning_rate = self.controls["learning_rate"].value  # these two act live,
        exp.config.reg_rate = self.controls["reg_rate"].value  # as in the Playground
        exp.train(epochs or self.controls["epochs_per_step"].value)
        self._redraw()

    def _on_tick(self, change: dict[str, Any]) -> None:
        if change["new"] <= change["old"]:  # the stop button rewinds the counter: nothing to train
            return
        start = time.perf_counter()
        self.step()
        # If training + drawing is slower than the browser's ticks, tick less often (no backlog).
        elapsed_ms = 1000 * (time.perf_counter() - start)
        self.ticker.interval = max(self.interval_ms, int(1.5 * elapsed_ms))

    def _wire(self) -> None:
        resetting = ["dataset", "noise", "train_ratio", "batch_size", "layers", "activation", "regularization"]
        for name in resetting:
            self.controls[name].observe(self.reset, names="value")
        for widget in [*self.neuron_sliders, *self.feature_boxes.values()]:
            widget.observe(self.reset, names="value")
        self.controls["show_test"].observe(lambda _: self._redraw(new_data=True), names="value")
        self.ticker.observe(self._on_tick, names="value")
        self.step_button.on_click(self.step)
        self.reset_button.on_click(self.new_weights)
        self.data_button.on_click(self.new_data)

    # ------------------------------------------------------------------ drawing
    def _build_figure(self) -> None:
        self.fig = Figure(figsize=(7.6, 3.5))
        self.ax_plane, self.ax_loss = self.fig.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1.15]})
        lin = np.linspace(-DOMAIN, DOMAIN, self.resolution)
        xx, yy = np.meshgrid(lin, lin)
        self.grid = np.c_[xx.ravel(), yy.ravel()]
        self.heatmap = self.ax_plane.imshow(np.full((self.resolution,) * 2, 0.5), extent=(-DOMAIN, DOMAIN, -DOMAIN, DOMAIN),
                                            origin="lower", cmap=PLAYGROUND_CMAP, vmin=0, vmax=1,
                                            interpolation="bilinear", alpha=0.75)
        self.ax_plane.set(xlim=(-DOMAIN, DOMAIN), ylim=(-DOMAIN, DOMAIN), xlabel="X₁", ylabel="X₂")
        self.ax_plane.grid(False)
        self.train_dots = self.ax_plane.scatter([], [], s=16, edgecolors="white", linewidths=0.6)
        self.test_dots = self.ax_plane.scatter([], [], s=16, edgecolors="black", linewidths=0.8)
        (self.train_line,) = self.ax_loss.plot([], [], color="#333333", label="entrenamiento")
        (self.test_line,) = self.ax_loss.plot([], [], color="#999999", label="prueba")
        self.ax_loss.set(xlabel="época", ylabel="pérdida (entropía cruzada)", title="Pérdida")
        self.ax_loss.grid(alpha=0.3)
        self.ax_loss.legend(loc="upper right")
        self.fig.tight_layout()

    def _redraw(self, new_data: bool = False) -> None:
        exp = self.experiment
        if exp is None:
            self.status.value = f"<span style='color:#c0392b'>⚠️ {self.error}</span>"
            return
        if new_data:
            colors = np.array(CLASS_COLORS[:2])
            self.train_dots.set_offsets(exp.X_train)
            self.train_dots.set_facecolors(colors[exp.y_train])
            show = self.controls["show_test"].value
            self.test_dots.set_offsets(exp.X_test if show else np.empty((0, 2)))
            self.test_dots.set_facecolors(colors[exp.y_test] if show else "none")
        with np.errstate(over="ignore", invalid="ignore"):
            self.heatmap.set_data(exp.predict_proba(self.grid).reshape(self.resolution, self.resolution))
        h = exp.history
        epochs = np.arange(len(h["train_loss"]))
        self.train_line.set_data(epochs, h["train_loss"])
        self.test_line.set_data(epochs, h["test_loss"])
        self.ax_loss.set_xlim(0, max(1, epochs[-1]))
        finite = [v for v in h["train_loss"] + h["test_loss"] if np.isfinite(v)]
        self.ax_loss.set_ylim(0, 1.05 * max(finite, default=1.0))
        self.image.value = figure_to_png(self.fig, dpi=self.dpi)
        self.status.value = (
            f"<b>Época {exp.epoch}</b> · pérdida entrenamiento <b>{h['train_loss'][-1]:.3f}</b> · "
            f"prueba <b>{h['test_loss'][-1]:.3f}</b> · exactitud prueba <b>{100 * exp.test_accuracy():.1f} %</b>"
        )
        dead = exp.dead_layers()
        if dead:
            self.status.value += (f"<br><span style='color:#c0392b'>⚠️ Todas las neuronas ReLU de la capa "
                                  f"{', '.join(map(str, dead))} están «muertas»: devuelven 0 en todos los puntos, así "
                                  "que no les llega gradiente y la red ya no aprende. Pulsa ↺ (otros pesos) o baja la "
                                  "tasa de aprendizaje.</span>")
        if not np.isfinite(h["train_loss"][-1]):
            self.status.value += ("<br><span style='color:#c0392b'>⚠️ La pérdida ya no es un número: el entrenamiento "
                                  "ha divergido. Baja la tasa de aprendizaje y pulsa ↺.</span>")

    def _layout(self) -> w.Widget:
        c = self.controls
        top = w.HBox([self.ticker, self.step_button, self.reset_button, c["learning_rate"], c["activation"],
                      c["regularization"], c["reg_rate"]], layout=w.Layout(flex_flow="row wrap"))
        data = _box("DATOS", [c["dataset"], c["noise"], c["train_ratio"], c["batch_size"], self.data_button])
        features = _box("CARACTERÍSTICAS", list(self.feature_boxes.values()))
        layers = _box("CAPAS OCULTAS", [c["layers"], *self.neuron_sliders])
        output = _box("SALIDA", [self.status, self.image, c["show_test"], c["epochs_per_step"]], flex="1 1 420px")
        # The columns wrap (the picture goes below) on narrow screens, e.g. a laptop with the file browser open.
        return w.VBox([top, w.HBox([w.VBox([data, layers], layout=w.Layout(flex="0 0 auto")), features, output],
                                   layout=w.Layout(flex_flow="row wrap", align_items="flex-start"))])

    def _ipython_display_(self) -> None:
        from IPython.display import Image, display

        display(self.ui)
        if is_headless():  # no frontend: leave a static picture in the executed notebook
            display(Image(data=self.image.value))


def playground(**config: Any) -> Playground:
    """Build the Playground widget; keyword arguments are `course_utils.toy.Config` fields.

    >>> playground(dataset="xor", features=("x1*x2",), hidden=())   # doctest: +SKIP
    """
    return Playground(Config(**config))
