"""A headless, plain-NumPy version of TensorFlow Playground: data, features, MLP, training.

    exp = Experiment(Config(dataset="spiral", hidden=(8, 8), learning_rate=0.03))
    exp.train(300)
    exp.test_accuracy(), exp.history["test_loss"][-1]

- Data sets follow the generative recipes of the Playground's ``dataset.ts``
  (circle, xor, gaussian, spiral) on the plane [-6, 6]^2; labels are 0/1
  (the Playground's -1 is our 0, drawn orange; +1 is our 1, drawn blue).
- Input features are the Playground's: x1, x2, x1^2, x2^2, x1*x2, sin x1, sin x2.
- The network is a fully connected MLP with any number of hidden layers, one
  activation for all of them, and a single sigmoid output trained with binary
  cross-entropy (BCE). The original Playground uses a tanh output and a squared
  loss; sigmoid + BCE is the standard choice for binary classification in every
  framework (and in the rest of the course), gives probabilities directly and
  does not saturate the gradient when the net is confidently wrong.
- Training is mini-batch SGD on mean BCE plus an optional L1 (``rate * sum|w|``)
  or L2 (``rate * 0.5 * sum w^2``) penalty on the weights (not the biases), as
  in the Playground. Gradients are exact (tests compare them with torch.autograd).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

DATASETS = ("circle", "xor", "gaussian", "spiral")
REGULARIZATIONS = ("none", "L1", "L2")
DOMAIN = 6.0  # the Playground draws the plane [-6, 6] x [-6, 6]

FEATURES: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "x1": lambda X: X[:, 0],
    "x2": lambda X: X[:, 1],
    "x1^2": lambda X: X[:, 0] ** 2,
    "x2^2": lambda X: X[:, 1] ** 2,
    "x1*x2": lambda X: X[:, 0] * X[:, 1],
    "sin(x1)": lambda X: np.sin(X[:, 0]),
    "sin(x2)": lambda X: np.sin(X[:, 1]),
}


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return np.exp(-np.logaddexp(0.0, -z))  # stable for large |z|


# name -> (f(z), f'(z) written in terms of z and a = f(z))
ACTIVATIONS: dict[str, tuple[Callable[[np.ndarray], np.ndarray], Callable[[np.ndarray, np.ndarray], np.ndarray]]] = {
    "tanh": (np.tanh, lambda z, a: 1.0 - a**2),
    "relu": (lambda z: np.maximum(z, 0.0), lambda z, a: (z > 0).astype(z.dtype)),
    "sigmoid": (_sigmoid, lambda z, a: a * (1.0 - a)),
    "linear": (lambda z: z, lambda z, a: np.ones_like(z)),
}


def _check_choice(value: object, options: tuple[str, ...] | list[str], error: str) -> None:
    if value not in options:
        raise ValueError(f"{error}: {value!r}. Opciones válidas: {', '.join(options)}.")


# ----------------------------------------------------------------------------- data


def make_dataset(kind: str, n: int = 500, noise: float = 0.0, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Sample `n` labelled points of a Playground data set; returns X (n, 2) float64 and y (n,) int in {0, 1}.

    `noise` is the Playground's slider divided by 100 (0 ... 0.5).
    """
    _check_choice(kind, DATASETS, "Conjunto de datos desconocido")
    if n < 2:
        raise ValueError(f"Hacen falta al menos 2 puntos, no {n}.")
    rng = np.random.default_rng(seed)
    n1 = n // 2  # first half (or the XOR points), then the rest
    n2 = n - n1
    if kind == "gaussian":  # two Gaussian blobs; noise widens them (variance 0.5 ... 4)
        std = np.sqrt(0.5 + 7.0 * noise)
        X = np.vstack([rng.normal(2.0, std, (n1, 2)), rng.normal(-2.0, std, (n2, 2))])
        y = np.r_[np.ones(n1), np.zeros(n2)]
    elif kind == "spiral":  # two interleaved spirals, noise jitters each point
        parts = []
        for m, delta in ((n1, 0.0), (n2, np.pi)):
            i = np.arange(m)
            r = i / m * 5.0
            t = 1.75 * i / m * 2.0 * np.pi + delta
            parts.append(np.c_[r * np.sin(t), r * np.cos(t)] + rng.uniform(-1, 1, (m, 2)) * noise)
        X = np.vstack(parts)
        y = np.r_[np.ones(n1), np.zeros(n2)]
    elif kind == "circle":  # a disc of radius 2.5 inside a ring 3.5 ... 5; noise moves the label
        r = np.r_[rng.uniform(0.0, 2.5, n1), rng.uniform(3.5, 5.0, n2)]
        angle = rng.uniform(0.0, 2.0 * np.pi, n)
        X = np.c_[r * np.sin(angle), r * np.cos(angle)]
        shifted = X + rng.uniform(-5.0, 5.0, (n, 2)) * noise
        y = (np.hypot(shifted[:, 0], shifted[:, 1]) < 2.5).astype(float)
    else:  # xor: the sign of x1 * x2, points kept 0.3 away from the axes
        X = rng.uniform(-5.0, 5.0, (n, 2))
        X += np.where(X > 0, 0.3, -0.3)
        shifted = X + rng.uniform(-5.0, 5.0, (n, 2)) * noise
        y = (shifted[:, 0] * shifted[:, 1] >= 0).astype(float)
    return X.astype(np.float64), y.astype(np.int64)


def train_test_split(
    X: np.ndarray, y: np.ndarray, train_ratio: float = 0.5, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Shuffle and split into (X_train, X_test, y_train, y_test); both parts get at least one point."""
    if not 0.0 < train_ratio < 1.0:
        raise ValueError(f"La proporción de entrenamiento debe estar entre 0 y 1 (sin incluirlos), no {train_ratio}.")
    idx = np.random.default_rng(seed).permutation(len(X))
    k = min(max(round(train_ratio * len(X)), 1), len(X) - 1)
    return X[idx[:k]], X[idx[k:]], y[idx[:k]], y[idx[k:]]


def make_features(X: np.ndarray, names: list[str] | tuple[str, ...]) -> np.ndarray:
    """Stack the named input features of the points X (n, 2) into an (n, len(names)) matrix."""
    if len(names) == 0:
        raise ValueError("Selecciona al menos una característica de entrada (por ejemplo 'x1' y 'x2').")
    for name in names:
        _check_choice(name, list(FEATURES), "Característica desconocida")
    return np.stack([FEATURES[name](X) for name in names], axis=1).astype(np.float64)


# ----------------------------------------------------------------------------- model


def _init_std(activation: str, fan_in: int, fan_out: int) -> float:
    """Standard deviation of a layer's initial weights feeding `activation` (the output layer: "linear")."""
    glorot = np.sqrt(2.0 / (fan_in + fan_out))
    return {"relu": np.sqrt(2.0 / fan_in), "sigmoid": 4.0 * glorot}.get(activation, glorot)


class MLP:
    """Fully connected net: hidden layers with one activation, then one sigmoid output unit."""

    def __init__(self, n_inputs: int, hidden: list[int] | tuple[int, ...] = (), activation: str = "tanh", seed: int = 0,
                 data: np.ndarray | None = None):
        """Random weights for the activation; with `data` (the training inputs), biases that start every unit alive.

        Weights: Glorot/Xavier normal, std = sqrt(2 / (fan_in + fan_out)), for tanh and linear; He,
        std = sqrt(2 / fan_in), for ReLU; 4× Glorot for the sigmoid, whose slope is a quarter of tanh's
        (Glorot & Bengio, 2010). Biases: 0; but for ReLU and sigmoid, when `data` is given, each hidden
        unit's bias centres its input at the median over `data` (ReLU: plus 0.1), so every ReLU starts
        active on half of the points — none starts "dead" — and every sigmoid starts on its steepest part.
        """
        _check_choice(activation, tuple(ACTIVATIONS), "Función de activación desconocida")
        if n_inputs < 1 or any(int(h) < 1 for h in hidden):
            raise ValueError(f"Cada capa necesita al menos una neurona (entradas={n_inputs}, ocultas={list(hidden)}).")
        self.activation = activation
        self.sizes = [int(n_inputs), *(int(h) for h in hidden), 1]
        rng = np.random.default_rng(seed)
        pairs = list(zip(self.sizes[:-1], self.sizes[1:]))
        self.weights = [rng.normal(0.0, _init_std(activation if i < len(pairs) - 1 else "linear", a, b), (a, b))
                        for i, (a, b) in enumerate(pairs)]
        self.biases = [np.zeros(b) for b in self.sizes[1:]]
        if data is not None and activation in ("relu", "sigmoid"):
            f = ACTIVATIONS[activation][0]
            a = np.asarray(data, dtype=np.float64)
            for i, W in enumerate(self.weights[:-1]):
                z = a @ W
                self.biases[i] = -np.median(z, axis=0) + (0.1 if activation == "relu" else 0.0)
                a = f(z + self.biases[i])

    def parameters(self) -> list[np.ndarray]:
        """[W1, b1, W2, b2, ...] (the arrays themselves, so in-place edits change the model)."""
        return [p for wb in zip(self.weights, self.biases) for p in wb]

    def forward(self, X: np.ndarray) -> tuple[np.ndarray, list[tuple[np.ndarray, np.ndarray]]]:
        """Return the output logits (n,) and the cache for `backward`: (X, X), then (z, a) per hidden layer."""
        f, _ = ACTIVATIONS[self.activation]
        a, cache = X, [(X, X)]
        for W, b in zip(self.weights[:-1], self.biases[:-1]):
            z = a @ W + b
            a = f(z)
            cache.append((z, a))
        return (a @ self.weights[-1] + self.biases[-1])[:, 0], cache

    def backward(self, logits: np.ndarray, cache: list[tuple[np.ndarray, np.ndarray]], y: np.ndarray) -> list[np.ndarray]:
        """Gradients of the mean BCE with respect to [W1, b1, W2, b2, ...] (no penalty)."""
        _, df = ACTIVATIONS[self.activation]
        dz = ((_sigmoid(logits) - y) / len(y))[:, None]  # d(mean BCE)/d(logit) = (p - y) / n
        grads: list[np.ndarray] = []
        for layer in range(len(self.weights) - 1, -1, -1):
            z_prev, a_prev = cache[layer]
            grads[:0] = [a_prev.T @ dz, dz.sum(axis=0)]
            if layer > 0:
                dz = (dz @ self.weights[layer].T) * df(z_prev, a_prev)
        return grads

    def penalty(self, regularization: str = "none", rate: float = 0.0) -> float:
        """rate * sum|w| (L1) or rate * 0.5 * sum w^2 (L2) over the weights (biases excluded)."""
        _check_choice(regularization, REGULARIZATIONS, "Regularización desconocida")
        if regularization == "L1":
            return rate * sum(float(np.abs(W).sum()) for W in self.weights)
        if regularization == "L2":
            return rate * 0.5 * sum(float((W**2).sum()) for W in self.weights)
        return 0.0

    def loss_and_gradients(
        self, X: np.ndarray, y: np.ndarray, regularization: str = "none", rate: float = 0.0
    ) -> tuple[float, list[np.ndarray]]:
        """Mean BCE + penalty, and its exact gradients with respect to `parameters()`."""
        logits, cache = self.forward(X)
        y = np.asarray(y, dtype=np.float64)
        loss = _bce(logits, y) + self.penalty(regularization, rate)
        grads = self.backward(logits, cache, y)
        if regularization != "none":
            for i, W in enumerate(self.weights):  # weights sit at even positions of the list
                grads[2 * i] = grads[2 * i] + rate * (np.sign(W) if regularization == "L1" else W)
        return loss, grads

    def sgd_step(self, X: np.ndarray, y: np.ndarray, learning_rate: float, regularization: str = "none", rate: float = 0.0) -> float:
        """One gradient-descent update on the batch (X, y); returns the batch loss before it."""
        loss, grads = self.loss_and_gradients(X, y, regularization, rate)
        for p, g in zip(self.parameters(), grads):
            p -= learning_rate * g
        return loss

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Probability of class 1 for each row of X."""
        return _sigmoid(self.forward(X)[0])

    def loss(self, X: np.ndarray, y: np.ndarray) -> float:
        """Mean binary cross-entropy (without the penalty): what the loss curves show."""
        return _bce(self.forward(X)[0], np.asarray(y, dtype=np.float64))

    def accuracy(self, X: np.ndarray, y: np.ndarray) -> float:
        return float(np.mean((self.forward(X)[0] > 0) == (np.asarray(y) == 1)))


def _bce(logits: np.ndarray, y: np.ndarray) -> float:
    """Mean BCE from logits, log(1 + e^z) - y z, written to never overflow."""
    return float(np.mean(np.logaddexp(0.0, logits) - y * logits))


# ----------------------------------------------------------------------------- experiment


@dataclass
class Config:
    """Every knob of the Playground (defaults as on playground.tensorflow.org)."""

    dataset: str = "circle"
    noise: float = 0.0  # 0 ... 0.5
    train_ratio: float = 0.5
    n_samples: int = 500
    features: tuple[str, ...] = ("x1", "x2")
    hidden: tuple[int, ...] = (4, 2)
    activation: str = "tanh"
    learning_rate: float = 0.03
    batch_size: int = 10
    regularization: str = "none"  # "none", "L1" or "L2"
    reg_rate: float = 0.0
    seed: int = 0  # data, split, initial weights and batch order
    init_seed: int | None = None  # other initial weights and batch order on the same data (None: use `seed`)

    def __post_init__(self) -> None:
        _check_choice(self.dataset, DATASETS, "Conjunto de datos desconocido")
        _check_choice(self.activation, tuple(ACTIVATIONS), "Función de activación desconocida")
        _check_choice(self.regularization, REGULARIZATIONS, "Regularización desconocida")
        self.features, self.hidden = tuple(self.features), tuple(int(h) for h in self.hidden)
        make_features(np.zeros((1, 2)), self.features)  # validates the names (and that there is one)
        if self.batch_size < 1 or self.learning_rate <= 0 or self.reg_rate < 0:
            raise ValueError(f"Valores no válidos: el tamaño de lote debe ser ≥ 1 (es {self.batch_size}), la tasa de "
                             f"aprendizaje > 0 (es {self.learning_rate}) y la de regularización ≥ 0 (es {self.reg_rate}).")


@dataclass
class Experiment:
    """A data set, its features, a fresh MLP and the training history, built from a `Config`."""

    config: Config = field(default_factory=Config)

    def __post_init__(self) -> None:
        c = self.config
        X, y = make_dataset(c.dataset, c.n_samples, c.noise, c.seed)
        self.X_train, self.X_test, self.y_train, self.y_test = train_test_split(X, y, c.train_ratio, c.seed)
        self.F_train, self.F_test = self.features(self.X_train), self.features(self.X_test)
        init = c.seed if c.init_seed is None else c.init_seed
        self.model = MLP(len(c.features), c.hidden, c.activation, init, data=self.F_train)
        self.rng = np.random.default_rng(init + 1)  # batch order
        self.epoch = 0
        self.history: dict[str, list[float]] = {"train_loss": [self.train_loss()], "test_loss": [self.test_loss()]}

    def features(self, X: np.ndarray) -> np.ndarray:
        return make_features(X, self.config.features)

    def train(self, epochs: int = 1) -> Experiment:
        """Run `epochs` passes of mini-batch SGD over the shuffled training set, logging the losses."""
        c = self.config
        for _ in range(epochs):
            order = self.rng.permutation(len(self.F_train))
            with np.errstate(over="ignore", invalid="ignore"):  # a diverging run shows up as inf/NaN losses
                for start in range(0, len(order), c.batch_size):
                    batch = order[start : start + c.batch_size]
                    self.model.sgd_step(self.F_train[batch], self.y_train[batch], c.learning_rate, c.regularization,
                                        c.reg_rate)
                self.history["train_loss"].append(self.train_loss())
                self.history["test_loss"].append(self.test_loss())
            self.epoch += 1
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Probability of class 1 at raw 2-D points X (features computed here)."""
        return self.model.predict_proba(self.features(X))

    def train_loss(self) -> float:
        return self.model.loss(self.F_train, self.y_train)

    def test_loss(self) -> float:
        return self.model.loss(self.F_test, self.y_test)

    def train_accuracy(self) -> float:
        return self.model.accuracy(self.F_train, self.y_train)

    def test_accuracy(self) -> float:
        return self.model.accuracy(self.F_test, self.y_test)

    def dead_layers(self) -> list[int]:
        """Hidden layers (1, 2, …) whose ReLU units all output 0 for every training point.

        Such a layer passes no signal and no gradient: the network cannot learn any more ("dying ReLU").
        """
        if self.config.activation != "relu":
            return []
        _, cache = self.model.forward(self.F_train)
        return [i for i, (_, a) in enumerate(cache[1:], start=1) if not np.any(a > 0)]


def restarts(config: Config, epochs: int, n: int = 3) -> list[Experiment]:
    """Train `n` nets from different initial weights on the same data, sorted by final training loss.

    Like pressing the Playground's reset a few times: ``restarts(...)[0]`` is the best run,
    chosen without ever looking at the test set.
    """
    runs = [Experiment(replace(config, init_seed=config.seed + 1000 * k)).train(epochs) for k in range(n)]
    return sorted(runs, key=lambda e: e.history["train_loss"][-1])
