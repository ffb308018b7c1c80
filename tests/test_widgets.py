import ipywidgets as w
import matplotlib.pyplot as plt

from course_utils import widgets


def test_slider_kinds():
    assert isinstance(widgets.slider(3, 0, 10), w.IntSlider)
    s = widgets.slider(0.5, 0.0, 1.0, description="peso")
    assert isinstance(s, w.FloatSlider) and s.description == "peso"
    lr = widgets.log_slider(0.1, -4, 1, "tasa")
    assert isinstance(lr, w.FloatLogSlider) and lr.value == 0.1
    d = widgets.dropdown({"ReLU": "relu", "tanh": "tanh"})
    assert d.value == "relu"


def test_interactive_plot_runs_callback_headless_and_on_change():
    calls = []

    def draw(a, kind):
        calls.append((a, kind))
        fig, ax = plt.subplots()
        ax.plot([0, 1], [0, a])
        return fig

    ui = widgets.interactive_plot(draw, a=widgets.slider(1.0, 0.0, 2.0), kind=widgets.dropdown(["x", "y"]))
    assert calls == [(1.0, "x")]
    ui.children[0].value = 1.5
    ui.children[1].value = "y"
    assert calls[-1] == (1.5, "y")
    assert ui.result is not None
    plt.close("all")


def test_figure_to_png():
    fig, ax = plt.subplots()
    ax.plot([1, 2, 3])
    png = widgets.figure_to_png(fig)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    plt.close(fig)


def test_interactive_plot_raises_headless_when_the_callback_fails():
    import pytest

    def broken(a):
        raise ZeroDivisionError("división por cero")

    with pytest.raises(RuntimeError, match="El widget falló"):
        widgets.interactive_plot(broken, a=widgets.slider(1.0, 0.0, 2.0))
