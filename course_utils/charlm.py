"""A character language model's data and metric: one definition for modules 04 (RNN) and 05 (GPT).

The course's benchmark, fixed here so that every model is measured the same way:

    train, test = load_split("quijote")      # = split(load_text("quijote")): last 10 % held out
    vocab = Vocabulary.from_text(train)      # sorted characters of `train` + one unknown id
    y = vocab.encode(test)
    bits = bits_per_char(logits, y[1:])      # logits[i]: the model's scores for y[i + 1]

`load_text("quijote")` is the book without Project Gutenberg's header and licence;
Tiny Shakespeare with the same `split` is nanoGPT's character split (first 90 % /
last 10 %). The baseline every network has to beat is `NGramLM`, an interpolated
modified Kneser-Ney character n-gram counted with NumPy (Chen & Goodman, 1999).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["HELD_OUT", "UNKNOWN", "NGramLM", "Vocabulary", "bits_per_char", "load_split", "nats_to_bits", "split"]

HELD_OUT = 0.1  # fraction of the characters held out at the end of the text
UNKNOWN = "\ufffd"  # what `decode` writes for the unknown id (U+FFFD, the replacement character)


def split(text: str, held_out: float = HELD_OUT) -> tuple[str, str]:
    """(train, test): the last `held_out` fraction of the characters is the test part.

    By characters, at a fixed position (int(len(text) * (1 - held_out))), with no
    shuffling: the test part is a continuous stretch the model never saw. For Tiny
    Shakespeare this is exactly nanoGPT's `data[:int(n * 0.9)]` / `data[int(n * 0.9):]`.
    """
    if not 0 < held_out < 1:
        raise ValueError(f"held_out debe estar entre 0 y 1 (sin incluirlos), no {held_out!r}.")
    cut = int(len(text) * (1 - held_out))
    if cut == 0 or cut == len(text):
        raise ValueError(f"El texto ({len(text)} caracteres) es demasiado corto para separar un {held_out:.0%}.")
    return text[:cut], text[cut:]


def load_split(name: str = "quijote", held_out: float = HELD_OUT) -> tuple[str, str]:
    """`split(load_text(name))`: the course's train and test text for 'quijote' or 'tinyshakespeare'."""
    from course_utils.data import load_text

    return split(load_text(name), held_out)


@dataclass(frozen=True)
class Vocabulary:
    """Characters ↔ ids: id i is `chars[i]` (sorted), and id len(chars) is the unknown character.

    Built from the training part only, so the test part may hold characters the model
    never saw: `encode` maps each of them to `unknown_id`, and `decode` writes it as
    UNKNOWN. A model must give that id some probability (the n-gram does), or an
    unseen test character costs it an infinite number of bits.
    """

    chars: str

    @classmethod
    def from_text(cls, text: str) -> Vocabulary:
        """The sorted distinct characters of `text` (the training part)."""
        if not text:
            raise ValueError("No se puede crear un vocabulario a partir de un texto vacío.")
        return cls("".join(sorted(set(text))))

    @property
    def unknown_id(self) -> int:
        return len(self.chars)

    def __len__(self) -> int:
        """Number of ids, the unknown one included (the size of a model's output layer)."""
        return len(self.chars) + 1

    def encode(self, text: str) -> np.ndarray:
        """The ids of the characters of `text` (int64); unseen characters get `unknown_id`."""
        codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)  # one code point per character
        known = np.array([ord(c) for c in self.chars], dtype=np.uint32)  # sorted, like self.chars
        index = np.minimum(np.searchsorted(known, codes), len(known) - 1)
        return np.where(known[index] == codes, index, self.unknown_id).astype(np.int64)

    def decode(self, ids: Any) -> str:
        """The text of a sequence of ids (list, NumPy array or tensor); the unknown id gives UNKNOWN."""
        flat = _to_numpy(ids).ravel()
        if flat.size and not np.issubdtype(flat.dtype, np.integer):
            raise TypeError(f"decode espera ids enteros, no {flat.dtype}.")
        if flat.size and (flat.min() < 0 or flat.max() >= len(self)):
            raise ValueError(f"decode: hay ids fuera del vocabulario (deben estar entre 0 y {len(self) - 1}).")
        table = list(self.chars) + [UNKNOWN]
        return "".join(table[i] for i in flat.tolist())

    def count_unknown(self, text: str) -> int:
        """How many characters of `text` are not in the vocabulary."""
        return int(np.count_nonzero(self.encode(text) == self.unknown_id))


def _to_numpy(x: Any) -> np.ndarray:
    """A NumPy array from an array-like or a torch tensor (detached, on the CPU, floats as float64)."""
    if hasattr(x, "detach"):  # a torch tensor; torch itself is not imported here
        x = x.detach().cpu()
        x = x.double() if x.is_floating_point() else x
        return x.numpy()
    return np.asarray(x)


def nats_to_bits(nats: float) -> float:
    """A cross-entropy in nats (natural log, PyTorch's unit) in bits: divide by ln 2."""
    return nats / math.log(2)


def bits_per_char(logits: Any, targets: Any) -> float:
    """Mean of -log2 p(target) under softmax(logits): the course's metric for a character LM.

    logits: (N, V) scores for N positions (NumPy or torch; log-probabilities also work,
    since log-softmax leaves them unchanged); targets: (N,) ids in 0..V-1. (B, T, V)
    with (B, T) is accepted too. Computed in float64 with a stable log-softmax; equal to
    `F.cross_entropy(logits, targets) / ln 2`.
    """
    x, t = _to_numpy(logits).astype(np.float64), _to_numpy(targets)
    if x.ndim < 2 or x.shape[:-1] != t.shape:
        raise ValueError(f"bits_per_char: las formas no encajan: logits {tuple(x.shape)} y targets "
                         f"{tuple(t.shape)}; se esperaba logits (N, V) y targets (N,).")
    if t.size == 0:
        raise ValueError("bits_per_char: no hay ninguna posición que evaluar (N = 0).")
    if not np.issubdtype(t.dtype, np.integer):
        raise TypeError(f"bits_per_char: targets deben ser ids enteros, no {t.dtype}.")
    x, t = x.reshape(-1, x.shape[-1]), t.ravel()
    if t.min() < 0 or t.max() >= x.shape[1]:
        raise ValueError(f"bits_per_char: hay targets fuera de 0..{x.shape[1] - 1} (V = {x.shape[1]}).")
    top = x.max(axis=1)
    log_z = top + np.log(np.exp(x - top[:, None]).sum(axis=1))  # log-sum-exp without overflow
    return nats_to_bits(float(np.mean(log_z - x[np.arange(t.size), t])))


@dataclass
class _Order:
    """The counts of one order k: n-grams and their contexts as sorted integer codes."""

    grams: np.ndarray  # sorted codes of the k-grams seen (base-V numbers of their ids)
    counts: np.ndarray  # their counts: raw at the top order, continuation counts below (Kneser-Ney)
    contexts: np.ndarray  # sorted codes of the (k-1)-character contexts seen
    totals: np.ndarray  # sum of counts per context
    gammas: np.ndarray  # probability mass each context passes down to order k-1
    discounts: np.ndarray  # [0, D1, D2, D3+]: subtracted from counts 1, 2 and 3 or more


def _discounts(counts: np.ndarray) -> np.ndarray:
    """Chen & Goodman's estimates from the counts of counts, kept in [0.1, j] for count class j."""
    n = [int(np.count_nonzero(counts == j)) for j in (1, 2, 3, 4)]
    y = n[0] / (n[0] + 2 * n[1]) if n[0] + 2 * n[1] else 0.5
    d = [j - (j + 1) * y * n[j] / n[j - 1] if n[j - 1] else y for j in (1, 2, 3)]
    return np.array([0.0] + [min(max(dj, 0.1), j) for j, dj in zip((1, 2, 3), d)])


def _find(keys: np.ndarray, query: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(index, found): where each query is in the sorted `keys`, and whether it is there."""
    index = np.minimum(np.searchsorted(keys, query), len(keys) - 1)
    return index, keys[index] == query


class NGramLM:
    """Interpolated modified Kneser-Ney character n-gram (Chen & Goodman, 1999), in NumPy.

    P_k(w | h) = max(c_k(hw) - D_k(c), 0) / c_k(h·) + γ_k(h) · P_{k-1}(w | h'), where h' is h
    without its first character, γ_k(h) is the mass the discounts removed, and an unseen
    context uses P_{k-1} directly. c_k are raw counts at the top order and, with
    `kneser_ney`, continuation counts below (how many different characters were seen just
    before the n-gram), else raw counts (interpolated absolute discounting). Order 0 is uniform
    over the whole vocabulary, so every id, the unknown one included, gets P > 0 and each
    distribution sums to 1. Each n-gram is stored as the base-V number of its ids.
    """

    def __init__(self, order: int = 7, kneser_ney: bool = True) -> None:
        if order < 1:
            raise ValueError(f"El orden del n-grama debe ser al menos 1, no {order}.")
        self.order, self.kneser_ney = order, kneser_ney
        self.vocab_size = 0
        self._orders: list[_Order] = []

    def fit(self, ids: Any, vocab_size: int) -> NGramLM:
        """Count the n-grams of the training ids (ints in 0..vocab_size-1); returns self."""
        if vocab_size < 1:
            raise ValueError(f"vocab_size debe ser al menos 1, no {vocab_size}.")
        x = self._check(ids, vocab_size)
        if vocab_size ** self.order >= 2**62:
            raise ValueError(f"Vocabulario de {vocab_size} símbolos demasiado grande para orden {self.order}: "
                             "los códigos de los n-gramas no caben en int64; usa un orden menor.")
        if len(x) < self.order:
            raise ValueError(f"El texto de entrenamiento ({len(x)} caracteres) es más corto "
                             f"que el orden {self.order}.")
        self.vocab_size = v = vocab_size
        raw, codes = [], x.copy()
        for k in range(1, self.order + 1):
            if k > 1:
                codes = codes[:-1] * v + x[k - 1:]  # code of x[i:i+k] from the code of x[i:i+k-1]
            raw.append(np.unique(codes, return_counts=True))
        self._orders = []
        for k in range(1, self.order + 1):
            grams, counts = raw[k - 1]
            if self.kneser_ney and k < self.order:  # N1+(• g): distinct characters seen before g
                grams, counts = np.unique(raw[k][0] % v**k, return_counts=True)
            contexts, inverse = np.unique(grams // v, return_inverse=True)
            d = _discounts(counts)
            totals = np.bincount(inverse, weights=counts)
            removed = np.bincount(inverse, weights=d[np.minimum(counts, 3)])
            self._orders.append(_Order(grams, counts, contexts, totals, removed / totals, d))
        return self

    def _check(self, ids: Any, vocab_size: int) -> np.ndarray:
        """`ids` as a 1-D int64 array, checked against the vocabulary size."""
        if vocab_size < 1:
            raise RuntimeError("El modelo no está entrenado: llama antes a fit(ids, vocab_size).")
        x = _to_numpy(ids)
        if x.ndim != 1 or (x.size and not np.issubdtype(x.dtype, np.integer)):
            raise ValueError(f"Se esperaban ids enteros en un vector 1-D, no forma {x.shape} y tipo {x.dtype}.")
        if x.size and (x.min() < 0 or x.max() >= vocab_size):
            raise ValueError(f"Hay ids fuera del vocabulario (deben estar entre 0 y {vocab_size - 1}).")
        return x.astype(np.int64)

    def _probs(self, windows: np.ndarray, context_len: np.ndarray) -> np.ndarray:
        """P(last column | the `context_len` columns before it), one row per query."""
        v, n = self.vocab_size, self.order
        p = np.full(len(windows), 1.0 / v)  # order 0: uniform
        code = np.zeros(len(windows), dtype=np.int64)
        for k, table in enumerate(self._orders, start=1):
            code = code + windows[:, n - k] * v ** (k - 1)  # the last k symbols
            c_index, seen = _find(table.contexts, code // v)
            g_index, found = _find(table.grams, code)
            count = np.where(found, table.counts[g_index], 0)
            mine = np.maximum(count - table.discounts[np.minimum(count, 3)], 0) / table.totals[c_index]
            p = np.where(seen & (context_len >= k - 1), mine + table.gammas[c_index] * p, p)
        return p

    def log2_probs(self, ids: Any) -> np.ndarray:
        """log2 P(ids[i] | ids[:i]) for each position, with up to order-1 characters of context."""
        x = self._check(ids, self.vocab_size)
        padded = np.concatenate([np.zeros(self.order - 1, dtype=np.int64), x])
        windows = np.lib.stride_tricks.sliding_window_view(padded, self.order)
        return np.log2(self._probs(windows, np.minimum(np.arange(len(x)), self.order - 1)))

    def bits_per_char(self, ids: Any) -> float:
        """Mean -log2 P over the ids (the text scored on its own, from its first character)."""
        return float(-np.mean(self.log2_probs(ids)))

    def distribution(self, context: Any) -> np.ndarray:
        """P(next id | context) over the whole vocabulary (sums to 1); context may be shorter or empty."""
        c = self._check(context, self.vocab_size)[-(self.order - 1):] if self.order > 1 else np.zeros(0, np.int64)
        windows = np.zeros((self.vocab_size, self.order), dtype=np.int64)
        windows[:, self.order - 1 - len(c):self.order - 1] = c
        windows[:, -1] = np.arange(self.vocab_size)
        return self._probs(windows, np.full(self.vocab_size, len(c)))
