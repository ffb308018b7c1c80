"""The NumPy Playground engine (course_utils.toy) and its widget (course_utils.playground)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from course_utils import toy
from course_utils.checks import gradient_check, numerical_gradient, rel_error

torch = pytest.importorskip("torch")

# ----------------------------------------------------------------------------- data sets


@pytest.mark.parametrize("kind", toy.DATASETS)
def test_dataset_shapes_labels_and_determinism(kind):
    X, y = toy.make_dataset(kind, n=301, noise=0.2, seed=3)
    assert X.shape == (301, 2) and X.dtype == np.float64
    assert y.shape == (301,) and set(np.unique(y)) == {0, 1}
    X2, y2 = toy.make_dataset(kind, n=301, noise=0.2, seed=3)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)
    X3, _ = toy.make_dataset(kind, n=301, noise=0.2, seed=4)
    assert not np.allclose(X, X3)
    assert np.abs(X).max() < toy.DOMAIN + 1.5  # inside (or just around) the Playground's plane


def test_datasets_follow_the_playground_recipes():
    X, y = toy.make_dataset("circle", 400, noise=0.0, seed=0)
    r = np.hypot(X[:, 0], X[:, 1])
    assert np.all((r < 2.5) == (y == 1)) and r.max() <= 5.0 and not np.any((r > 2.5) & (r < 3.5))
    X, y = toy.make_dataset("xor", 400, noise=0.0, seed=0)
    assert np.all((X[:, 0] * X[:, 1] >= 0) == (y == 1)) and np.abs(X).min() >= 0.3
    X, y = toy.make_dataset("gaussian", 400, noise=0.0, seed=0)
    assert np.allclose(X[y == 1].mean(axis=0), [2, 2], atol=0.2) and np.allclose(X[y == 0].mean(axis=0), [-2, -2], atol=0.2)
    wide, _ = toy.make_dataset("gaussian", 400, noise=0.5, seed=0)
    assert wide.std() > X.std()
    X, y = toy.make_dataset("spiral", 400, noise=0.0, seed=0)
    assert y.sum() == 200
    np.testing.assert_allclose(X[y == 1], -X[y == 0])  # the two arms are the same spiral rotated by pi


def test_noise_flips_some_labels():
    X, y = toy.make_dataset("xor", 1000, noise=0.3, seed=0)
    wrong = np.mean((X[:, 0] * X[:, 1] >= 0) != (y == 1))
    assert 0.02 < wrong < 0.4


def test_train_test_split():
    X, y = toy.make_dataset("circle", 100, seed=0)
    Xtr, Xte, ytr, yte = toy.train_test_split(X, y, 0.7, seed=1)
    assert len(Xtr) == 70 and len(Xte) == 30 and len(ytr) == 70 and len(yte) == 30
    together = np.vstack([Xtr, Xte])
    assert sorted(map(tuple, together)) == sorted(map(tuple, X))
    again = toy.train_test_split(X, y, 0.7, seed=1)
    np.testing.assert_array_equal(again[0], Xtr)
    with pytest.raises(ValueError, match="entre 0 y 1"):
        toy.train_test_split(X, y, 1.0)


def test_features():
    X = np.array([[1.0, 2.0], [-0.5, 3.0]])
    F = toy.make_features(X, ["x1", "x2", "x1^2", "x2^2", "x1*x2", "sin(x1)", "sin(x2)"])
    expected = np.c_[X, X**2, X[:, 0] * X[:, 1], np.sin(X)]
    np.testing.assert_allclose(F, expected)
    assert toy.make_features(X, ["x1*x2"]).shape == (2, 1)
    assert list(toy.FEATURES) == ["x1", "x2", "x1^2", "x2^2", "x1*x2", "sin(x1)", "sin(x2)"]


# ----------------------------------------------------------------------------- gradients


def _torch_loss(model: toy.MLP, F: np.ndarray, y: np.ndarray, regularization: str, rate: float):
    params = [torch.tensor(p, requires_grad=True) for p in model.parameters()]
    act = {"tanh": torch.tanh, "relu": torch.relu, "sigmoid": torch.sigmoid, "linear": lambda z: z}[model.activation]
    a = torch.tensor(F)
    for W, b in zip(params[0:-2:2], params[1:-2:2]):
        a = act(a @ W + b)
    logits = (a @ params[-2] + params[-1])[:, 0]
    loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, torch.tensor(y, dtype=torch.float64))
    weights = params[0::2]
    if regularization == "L1":
        loss = loss + rate * sum(W.abs().sum() for W in weights)
    elif regularization == "L2":
        loss = loss + rate * 0.5 * sum((W**2).sum() for W in weights)
    loss.backward()
    return loss.item(), [p.grad.numpy() for p in params]


@pytest.mark.parametrize("activation", list(toy.ACTIVATIONS))
@pytest.mark.parametrize("regularization", toy.REGULARIZATIONS)
def test_gradients_match_torch_autograd(activation, regularization):
    X, y = toy.make_dataset("spiral", 40, noise=0.1, seed=1)
    F = toy.make_features(X, list(toy.FEATURES))
    model = toy.MLP(F.shape[1], (5, 3, 4), activation, seed=2)
    loss, grads = model.loss_and_gradients(F, y, regularization, 0.05)
    ref_loss, ref_grads = _torch_loss(model, F, y, regularization, 0.05)
    assert abs(loss - ref_loss) < 1e-12
    assert len(grads) == len(ref_grads) == 8
    for g, r in zip(grads, ref_grads):
        assert g.shape == r.shape
        np.testing.assert_allclose(g, r, rtol=1e-10, atol=1e-13)


def test_gradients_without_hidden_layers_match_torch():
    X, y = toy.make_dataset("xor", 30, seed=0)
    F = toy.make_features(X, ["x1*x2", "x1"])
    model = toy.MLP(2, (), "tanh", seed=0)
    loss, grads = model.loss_and_gradients(F, y, "L2", 0.1)
    ref_loss, ref_grads = _torch_loss(model, F, y, "L2", 0.1)
    assert abs(loss - ref_loss) < 1e-12
    for g, r in zip(grads, ref_grads):
        np.testing.assert_allclose(g, r, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "linear"])
@pytest.mark.parametrize("regularization", toy.REGULARIZATIONS)
def test_gradients_match_central_differences(activation, regularization):
    X, y = toy.make_dataset("circle", 20, noise=0.1, seed=5)
    F = toy.make_features(X, ["x1", "x2", "x1^2"])
    model = toy.MLP(3, (4, 3), activation, seed=1)
    _, grads = model.loss_and_gradients(F, y, regularization, 0.1)
    for p, g in zip(model.parameters(), grads):
        numeric = numerical_gradient(lambda _: model.loss_and_gradients(F, y, regularization, 0.1)[0], p)
        assert np.abs(g - numeric).max() < 1e-7
        assert np.linalg.norm(g - numeric) / (np.linalg.norm(g) + np.linalg.norm(numeric)) < 1e-7


def test_a_wrong_gradient_is_caught():
    X, y = toy.make_dataset("circle", 20, seed=5)
    model = toy.MLP(2, (3,), "tanh", seed=1)
    _, grads = model.loss_and_gradients(X, y, "L2", 0.1)
    _, grads_no_reg = model.loss_and_gradients(X, y, "none", 0.0)
    assert rel_error(grads[0], grads_no_reg[0]) > 1e-3  # the penalty really enters the gradient
    with pytest.raises(AssertionError):
        gradient_check(lambda _: model.loss_and_gradients(X, y, "L2", 0.1)[0], model.weights[0], grads_no_reg[0],
                       verbose=False)


# ----------------------------------------------------------------------------- training


def test_sgd_step_lowers_the_loss_and_l2_shrinks_weights():
    X, y = toy.make_dataset("circle", 200, seed=0)
    model = toy.MLP(2, (4,), "tanh", seed=0)
    before = model.loss_and_gradients(X, y)[0]
    for _ in range(20):
        model.sgd_step(X, y, 0.1)
    assert model.loss_and_gradients(X, y)[0] < before
    plain = toy.Experiment(toy.Config(dataset="xor", hidden=(4,), learning_rate=0.1)).train(30)
    l2 = toy.Experiment(toy.Config(dataset="xor", hidden=(4,), learning_rate=0.1, regularization="L2", reg_rate=0.1)).train(30)
    l1 = toy.Experiment(toy.Config(dataset="xor", hidden=(4,), learning_rate=0.1, regularization="L1", reg_rate=0.1)).train(30)
    def norm(e: toy.Experiment) -> float:
        return sum(float((W**2).sum()) for W in e.model.weights)

    assert norm(l2) < norm(plain) and norm(l1) < norm(plain)


def test_xor_solved_by_one_product_feature_and_by_a_hidden_layer():
    product = toy.Experiment(toy.Config(dataset="xor", features=("x1*x2",), hidden=(), learning_rate=0.1)).train(20)
    assert product.test_accuracy() > 0.97
    linear = toy.Experiment(toy.Config(dataset="xor", hidden=(), learning_rate=0.1)).train(20)
    assert linear.test_accuracy() < 0.7  # a straight line cannot do XOR
    hidden = toy.Experiment(toy.Config(dataset="xor", hidden=(8,), learning_rate=0.1)).train(150)
    assert hidden.test_accuracy() > 0.9


def test_circle_needs_a_hidden_layer_or_squares():
    net = toy.Experiment(toy.Config(dataset="circle", hidden=(4, 2), learning_rate=0.1)).train(150)
    assert net.test_accuracy() > 0.95
    squares = toy.Experiment(toy.Config(dataset="circle", features=("x1^2", "x2^2"), hidden=(), learning_rate=0.1)).train(30)
    assert squares.test_accuracy() > 0.97
    line = toy.Experiment(toy.Config(dataset="circle", hidden=(), learning_rate=0.1)).train(30)
    assert line.test_accuracy() < 0.75


def test_experiment_history_and_determinism():
    cfg = toy.Config(dataset="gaussian", hidden=(3,), seed=7)
    a, b = toy.Experiment(cfg).train(5), toy.Experiment(cfg).train(5)
    assert a.epoch == 5 and len(a.history["train_loss"]) == len(a.history["test_loss"]) == 6
    assert a.history == b.history
    assert a.history["train_loss"][-1] < a.history["train_loss"][0]
    assert a.predict_proba(np.zeros((3, 2))).shape == (3,)


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: toy.make_dataset("moons"), "Conjunto de datos desconocido"),
        (lambda: toy.Config(dataset="moons"), "Conjunto de datos desconocido"),
        (lambda: toy.MLP(2, (3,), "swish"), "Función de activación desconocida"),
        (lambda: toy.Config(activation="swish"), "Función de activación desconocida"),
        (lambda: toy.make_features(np.zeros((2, 2)), ["x3"]), "Característica desconocida"),
        (lambda: toy.Config(features=("x1", "cos(x1)")), "Característica desconocida"),
        (lambda: toy.Config(features=()), "al menos una característica"),
        (lambda: toy.make_features(np.zeros((2, 2)), []), "al menos una característica"),
        (lambda: toy.Config(regularization="L3"), "Regularización desconocida"),
        (lambda: toy.MLP(2, (0,)), "al menos una neurona"),
    ],
)
def test_invalid_inputs_raise_spanish_errors(build, message):
    with pytest.raises(ValueError, match=message):
        build()


# ----------------------------------------------------------------------------- widget


@pytest.fixture
def pg(monkeypatch):
    monkeypatch.setenv("COURSE_HEADLESS", "1")
    from course_utils.playground import playground

    return playground(dataset="circle", hidden=(4, 2))


def test_widget_builds_headless(pg):
    import ipywidgets as w

    assert isinstance(pg.ui, w.Widget)
    assert pg.image.value[:8] == b"\x89PNG\r\n\x1a\n"
    assert pg.epoch == 0 and "Época 0" in pg.status.value
    assert [s.layout.display for s in pg.neuron_sliders] == ["", "", "none", "none", "none", "none"]
    assert pg.experiment.model.sizes == [2, 4, 2, 1]


def test_step_trains_and_redraws(pg):
    before = pg.image.value
    pg.controls["epochs_per_step"].value = 3
    pg.step()
    assert pg.epoch == 3 and "Época 3" in pg.status.value
    assert pg.image.value != before
    pg.step_button.click()
    assert pg.epoch == 6
    pg.step(epochs=10)
    assert pg.epoch == 16 and len(pg.experiment.history["test_loss"]) == 17


@pytest.mark.parametrize(
    "name, value",
    [("dataset", "spiral"), ("noise", 20), ("train_ratio", 70), ("batch_size", 5), ("layers", 3),
     ("activation", "relu"), ("regularization", "L2")],
)
def test_controls_rebuild_and_reset(pg, name, value):
    pg.step()
    pg.play()
    old = pg.experiment
    pg.controls[name].value = value
    assert pg.experiment is not old and pg.epoch == 0 and not pg.playing
    cfg = pg.experiment.config
    expected = {"dataset": cfg.dataset, "noise": round(100 * cfg.noise), "train_ratio": round(100 * cfg.train_ratio),
                "batch_size": cfg.batch_size, "layers": len(cfg.hidden), "activation": cfg.activation,
                "regularization": cfg.regularization}
    assert expected[name] == value
    if name == "train_ratio":
        assert len(pg.experiment.X_train) == 350
    if name == "layers":
        assert pg.experiment.model.sizes == [2, 4, 2, 2, 1]
        assert [s.layout.display for s in pg.neuron_sliders[:4]] == ["", "", "", "none"]


def test_neurons_and_features_rebuild_the_network(pg):
    pg.neuron_sliders[0].value = 7
    assert pg.experiment.model.sizes == [2, 7, 2, 1]
    pg.feature_boxes["sin(x1)"].value = True
    assert pg.experiment.config.features == ("x1", "x2", "sin(x1)")
    assert pg.experiment.model.sizes == [3, 7, 2, 1]
    pg.controls["layers"].value = 0
    assert pg.experiment.model.sizes == [3, 1]


def test_learning_rate_and_reg_rate_act_live(pg):
    pg.step()
    pg.controls["learning_rate"].value = 0.3
    pg.controls["reg_rate"].value = 0.01
    assert pg.epoch == 5  # no reset
    pg.step()
    assert pg.experiment.config.learning_rate == 0.3 and pg.experiment.config.reg_rate == 0.01
    assert pg.epoch == 10


def test_no_features_shows_a_spanish_message(pg):
    pg.feature_boxes["x1"].value = False
    assert pg.experiment.config.features == ("x2",)
    image = pg.image.value
    pg.feature_boxes["x2"].value = False
    assert pg.experiment is None and "al menos una característica" in pg.status.value
    pg.step()  # harmless
    pg.ticker.value += 1
    assert pg.image.value == image
    pg.feature_boxes["x1*x2"].value = True
    assert pg.experiment.config.features == ("x1*x2",) and "Época 0" in pg.status.value


def test_play_ticks_train_and_pause(pg):
    assert not pg.playing
    pg.play()
    assert pg.playing
    pg.ticker.value += 1  # what the browser does every `interval` ms while playing
    assert pg.epoch == 5
    pg.ticker.value += 1
    assert pg.epoch == 10
    pg.ticker.value = 0  # the stop button rewinds: no training
    assert pg.epoch == 10
    pg.toggle_play()
    assert not pg.playing
    weights = pg.experiment.model.weights[0].copy()
    X = pg.experiment.X_train.copy()
    pg.play()
    pg.reset_button.click()  # other initial weights, same data, paused
    assert pg.epoch == 0 and not pg.playing
    assert not np.allclose(weights, pg.experiment.model.weights[0])
    np.testing.assert_array_equal(X, pg.experiment.X_train)


def test_new_data_and_show_test(pg):
    X = pg.experiment.X_train.copy()
    pg.data_button.click()
    assert not np.array_equal(X, pg.experiment.X_train) and pg.epoch == 0
    image = pg.image.value
    pg.controls["show_test"].value = True
    assert pg.image.value != image and len(pg.test_dots.get_offsets()) == len(pg.experiment.X_test)


def test_unusual_rates_are_added_to_the_dropdowns(monkeypatch):
    monkeypatch.setenv("COURSE_HEADLESS", "1")
    from course_utils.playground import playground

    pg = playground(dataset="xor", learning_rate=0.05, features=("x1*x2",), hidden=())
    assert pg.controls["learning_rate"].value == 0.05
    pg.step(epochs=20)
    assert pg.experiment.test_accuracy() > 0.95


def test_restarts_sorted_by_training_loss_on_the_same_data():
    cfg = toy.Config(dataset="circle", hidden=(2,), learning_rate=0.1)
    runs = toy.restarts(cfg, epochs=10, n=3)
    final = [e.history["train_loss"][-1] for e in runs]
    assert final == sorted(final) and len(set(final)) == 3
    losses = [toy.Experiment(replace(cfg, init_seed=k * 1000)).train(10).history["train_loss"][-1] for k in range(3)]
    assert sorted(losses) == final
    for e in runs:  # same data, other weights
        np.testing.assert_array_equal(e.X_test, runs[0].X_test)


def test_divergence_is_reported_without_warnings(monkeypatch):
    import warnings

    monkeypatch.setenv("COURSE_HEADLESS", "1")
    from course_utils.playground import playground

    pg = playground(dataset="spiral", hidden=(8,) * 6, activation="linear", learning_rate=10.0,
                    features=tuple(toy.FEATURES))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pg.step(epochs=30)
    assert not np.isfinite(pg.experiment.history["train_loss"][-1])
    assert "divergido" in pg.status.value and pg.image.value[:4] == b"\x89PNG"


# The defaults of the Playground (4-2 network, lr 0.03, batch 10) must learn with every non-linear
# activation, from the first start (issue 11: with zero biases ReLU died on XOR for seeds 0 and 2).
@pytest.mark.parametrize("activation", ["relu", "tanh"])
@pytest.mark.parametrize("dataset", ["circle", "xor"])
def test_default_network_learns_from_its_first_start(activation, dataset):
    for seed in range(3):
        e = toy.Experiment(toy.Config(dataset=dataset, activation=activation, seed=seed)).train(500)
        assert e.train_loss() < 0.05 and e.test_accuracy() >= 0.95, (seed, e.train_loss(), e.test_accuracy())
        assert e.dead_layers() == []


def test_default_network_learns_with_the_sigmoid_only_more_slowly():
    for seed in range(3):
        circle = toy.Experiment(toy.Config(dataset="circle", activation="sigmoid", seed=seed)).train(1500)
        assert circle.test_accuracy() >= 0.95, (seed, circle.test_accuracy())
        xor = toy.Experiment(toy.Config(dataset="xor", activation="sigmoid", seed=seed)).train(1500)
        assert xor.test_accuracy() >= 0.75, (seed, xor.test_accuracy())


def test_every_relu_starts_alive_and_a_dead_layer_is_reported(pg):
    e = toy.Experiment(toy.Config(dataset="xor", activation="relu", seed=0))
    _, cache = e.model.forward(e.F_train)
    for _, a in cache[1:]:  # each unit active on about half of the training points
        assert np.all(np.abs((a > 0).mean(axis=0) - 0.5) < 0.1)
    # without the data-dependent biases (zero biases, the old start), seed 0 dies on XOR
    e.model = toy.MLP(2, (4, 2), "relu", seed=0)
    e.train(100)
    assert e.dead_layers() == [2] and e.train_loss() > 0.68
    pg.experiment = e
    pg._redraw()
    assert "muertas" in pg.status.value and "↺" in pg.status.value
