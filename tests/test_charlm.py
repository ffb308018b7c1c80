"""Tests for course_utils.charlm: the split, the vocabulary, bits per character and the n-gram.

The n-gram is checked against a plain-dict implementation of the textbook formula on a
small text, for proper distributions, and on the real texts (their packaged copies) for
the numbers the lessons quote.
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from course_utils.charlm import (
    UNKNOWN,
    NGramLM,
    Vocabulary,
    _discounts,
    bits_per_char,
    load_split,
    nats_to_bits,
    split,
)

SMALL = ("el perro de san roque no tiene rabo porque ramón ramírez se lo ha cortado. " * 3
         + "abracadabra, pata de cabra. " * 5)


pytestmark = pytest.mark.usefixtures("offline_texts")  # the texts come from the packaged copies


# --- split -------------------------------------------------------------------------------------------

def test_split_holds_out_the_last_tenth_without_shuffling():
    text = "".join(chr(ord("a") + i % 26) for i in range(1001))
    train, test = split(text)
    assert train + test == text and len(train) == int(1001 * 0.9) == 900
    assert split(text, held_out=0.25)[1] == text[-251:]  # int(1001 * 0.75) = 750


def test_split_is_nanogpts_split_of_tiny_shakespeare():
    train, test = load_split("tinyshakespeare")
    n = len(train) + len(test)
    assert n == 1115394 and len(train) == int(n * 0.9) and train.startswith("First Citizen:")


@pytest.mark.parametrize("held_out", [0, 1, -0.1, 1.5])
def test_split_rejects_bad_fractions(held_out):
    with pytest.raises(ValueError, match="held_out debe estar entre 0 y 1"):
        split("abcdef", held_out)


def test_split_rejects_too_short_texts():
    with pytest.raises(ValueError, match="demasiado corto"):
        split("a")


# --- vocabulary --------------------------------------------------------------------------------------

def test_vocabulary_sorted_characters_and_round_trip():
    vocab = Vocabulary.from_text("hola, mundo")
    assert vocab.chars == " ,adhlmnou" and len(vocab) == 11 and vocab.unknown_id == 10
    ids = vocab.encode("mundo, hola")
    assert ids.dtype == np.int64 and ids.tolist() == [vocab.chars.index(c) for c in "mundo, hola"]
    assert vocab.decode(ids) == "mundo, hola" and vocab.decode([]) == "" and vocab.encode("").size == 0


def test_unseen_characters_map_to_the_unknown_id():
    vocab = Vocabulary.from_text("abc")
    ids = vocab.encode("aXbñ€c😀")
    assert ids.tolist() == [0, 3, 1, 3, 3, 2, 3]
    assert vocab.decode(ids) == f"a{UNKNOWN}b{UNKNOWN}{UNKNOWN}c{UNKNOWN}"
    assert vocab.count_unknown("aXbñ€c😀") == 4 and vocab.count_unknown("cab") == 0


def test_decode_accepts_tensors_and_rejects_bad_ids():
    vocab = Vocabulary.from_text("abc")
    assert vocab.decode(torch.tensor([[2, 1], [0, 3]])) == f"cba{UNKNOWN}"
    with pytest.raises(ValueError, match="fuera del vocabulario"):
        vocab.decode([0, 4])
    with pytest.raises(ValueError, match="fuera del vocabulario"):
        vocab.decode(np.array([-1]))
    with pytest.raises(TypeError, match="ids enteros"):
        vocab.decode([0.5])
    with pytest.raises(ValueError, match="texto vacío"):
        Vocabulary.from_text("")


def test_quijote_vocabulary_and_unknown_test_characters():
    train, test = load_split("quijote")
    vocab = Vocabulary.from_text(train)
    assert len(vocab) == 92 and "ñ" in vocab.chars and "—" in vocab.chars
    assert vocab.count_unknown(test) == 2  # two "ù", absent from the first 90 %
    assert vocab.decode(vocab.encode(train[:5000])) == train[:5000]


# --- bits per character ------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_bits_per_char_equals_cross_entropy_over_ln2(dtype):
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(500, 30, generator=gen, dtype=dtype) * 3
    targets = torch.randint(0, 30, (500,), generator=gen)
    expected = F.cross_entropy(logits.double(), targets).item() / math.log(2)
    assert bits_per_char(logits, targets) == pytest.approx(expected, rel=1e-12)
    assert bits_per_char(logits.numpy(), targets.numpy()) == pytest.approx(expected, rel=1e-12)
    log_probs = F.log_softmax(logits.double(), dim=1)
    assert bits_per_char(log_probs, targets) == pytest.approx(expected, rel=1e-12)
    assert bits_per_char(logits.reshape(20, 25, 30), targets.reshape(20, 25)) == pytest.approx(expected, rel=1e-12)


def test_bits_per_char_is_stable_for_huge_logits_and_works_with_grad():
    logits = torch.tensor([[1e4, 0.0, -1e4], [500.0, 800.0, 800.0]], dtype=torch.float64, requires_grad=True)
    targets = torch.tensor([0, 1])
    value = bits_per_char(logits, targets)
    assert math.isfinite(value)
    assert value == pytest.approx(F.cross_entropy(logits, targets).item() / math.log(2), rel=1e-12)
    assert value == pytest.approx(0.5, rel=1e-12)  # second row: log2(2) bits, first: 0


def test_uniform_logits_give_log2_of_the_vocabulary():
    assert bits_per_char(np.zeros((4, 8)), np.array([0, 3, 5, 7])) == pytest.approx(3.0)


@pytest.mark.parametrize("logits, targets, error, message", [
    (np.zeros((5, 4)), np.zeros(4, dtype=int), ValueError, "las formas no encajan"),
    (np.zeros(5), np.zeros(5, dtype=int), ValueError, "las formas no encajan"),
    (np.zeros((0, 4)), np.zeros(0, dtype=int), ValueError, "ninguna posición"),
    (np.zeros((2, 4)), np.array([0.0, 1.0]), TypeError, "ids enteros"),
    (np.zeros((2, 4)), np.array([0, 4]), ValueError, "fuera de 0..3"),
])
def test_bits_per_char_explains_bad_input_in_spanish(logits, targets, error, message):
    with pytest.raises(error, match=message):
        bits_per_char(logits, targets)


def test_nats_to_bits():
    assert nats_to_bits(math.log(2)) == pytest.approx(1.0)
    assert nats_to_bits(1.69) == pytest.approx(2.438, abs=1e-3)


# --- n-gram ------------------------------------------------------------------------------------------

def reference_probability(train: list[int], vocab_size: int, order: int, kneser_ney: bool):
    """The textbook formula with dicts of tuples: P(w | history), for comparison with NGramLM."""
    raw = {k: Counter(tuple(train[i:i + k]) for i in range(len(train) - k + 1)) for k in range(1, order + 1)}
    counts = {k: Counter(g[1:] for g in raw[k + 1]) if kneser_ney and k < order else raw[k]
              for k in range(1, order + 1)}
    discount = {k: _discounts(np.array(list(c.values()))) for k, c in counts.items()}
    total = {k: Counter() for k in counts}
    removed = {k: Counter() for k in counts}
    for k, table in counts.items():
        for gram, c in table.items():
            total[k][gram[:-1]] += c
            removed[k][gram[:-1]] += discount[k][min(c, 3)]

    def probability(w: int, history: list[int]) -> float:
        p = 1 / vocab_size
        for k in range(1, min(order, len(history) + 1) + 1):
            context = tuple(history[len(history) - k + 1:]) if k > 1 else ()
            if total[k][context]:
                c = counts[k][context + (w,)]
                d = discount[k][min(c, 3)] if c else 0.0
                p = (c - d) / total[k][context] + removed[k][context] / total[k][context] * p
        return p

    return probability


@pytest.mark.parametrize("kneser_ney", [True, False])
@pytest.mark.parametrize("order", [1, 2, 3, 5])
def test_ngram_matches_the_reference_formula(order, kneser_ney):
    vocab = Vocabulary.from_text(SMALL)
    train = vocab.encode(SMALL)
    test = np.concatenate([vocab.encode("el rabo de ramón no es de san roque: abra"), [vocab.unknown_id, 3, 4]])
    model = NGramLM(order, kneser_ney).fit(train, len(vocab))
    reference = reference_probability(train.tolist(), len(vocab), order, kneser_ney)
    expected = [reference(int(w), test[max(0, i - order + 1):i].tolist()) for i, w in enumerate(test)]
    np.testing.assert_allclose(2 ** model.log2_probs(test), expected, rtol=1e-12)
    assert model.bits_per_char(test) == pytest.approx(-np.mean(np.log2(expected)), rel=1e-12)


@pytest.mark.parametrize("kneser_ney", [True, False])
def test_ngram_distributions_sum_to_one(kneser_ney):
    vocab = Vocabulary.from_text(SMALL)
    model = NGramLM(5, kneser_ney).fit(vocab.encode(SMALL), len(vocab))
    unk = vocab.unknown_id
    contexts = [[], vocab.encode("a").tolist(), vocab.encode("el perro de").tolist(),  # seen, longer than the order
                vocab.encode("zzzz").tolist(), [unk, unk], vocab.encode("ab").tolist() + [unk]]  # unseen, unknown
    for context in contexts:
        p = model.distribution(context)
        assert p.shape == (len(vocab),) and p.sum() == pytest.approx(1.0, abs=1e-12)
        assert (p > 0).all()  # the unknown id included
    seen = model.distribution(vocab.encode("abracadabr"))
    assert seen.argmax() == vocab.chars.index("a")  # "abracadabr" → "a"


def test_ngram_log2_probs_agree_with_distribution():
    vocab = Vocabulary.from_text(SMALL)
    ids = vocab.encode(SMALL[:60])
    model = NGramLM(4).fit(vocab.encode(SMALL), len(vocab))
    expected = [model.distribution(ids[:i])[w] for i, w in enumerate(ids)]
    np.testing.assert_allclose(2 ** model.log2_probs(ids), expected, rtol=1e-12)


def test_ngram_errors_are_explained_in_spanish():
    with pytest.raises(ValueError, match="al menos 1"):
        NGramLM(0)
    with pytest.raises(RuntimeError, match="no está entrenado"):
        NGramLM(3).bits_per_char([0, 1])
    with pytest.raises(ValueError, match="fuera del vocabulario"):
        NGramLM(3).fit([0, 1, 5], 5)
    with pytest.raises(ValueError, match="más corto que el orden"):
        NGramLM(3).fit([0, 1], 5)
    with pytest.raises(ValueError, match="no caben en int64"):
        NGramLM(10).fit(np.arange(100), 200)
    with pytest.raises(ValueError, match="vector 1-D"):
        NGramLM(2).fit(np.zeros((3, 3), dtype=int), 5)
    model = NGramLM(2).fit([0, 1, 0, 1], 3)
    with pytest.raises(ValueError, match="fuera del vocabulario"):
        model.log2_probs([0, 3])


# Measured on this code (2026-12): Quijote, last 10 % held out; Tiny Shakespeare, nanoGPT's split.
QUIJOTE_BITS = {3: 2.7620, 5: 2.0075, 7: 1.8497}
SHAKESPEARE_NATS_5 = 1.5612


def test_quijote_ngram_bits_per_char_improve_with_the_order():
    train, test = load_split("quijote")
    vocab = Vocabulary.from_text(train)
    x, y = vocab.encode(train), vocab.encode(test)
    bits = {n: NGramLM(n).fit(x, len(vocab)).bits_per_char(y) for n in QUIJOTE_BITS}
    assert bits[7] < bits[5] < bits[3]
    for n, expected in QUIJOTE_BITS.items():
        assert bits[n] == pytest.approx(expected, abs=2e-3)
    assert NGramLM(7, kneser_ney=False).fit(x, len(vocab)).bits_per_char(y) > bits[7] + 0.1  # KN matters


def test_tiny_shakespeare_ngram_nats():
    train, test = load_split("tinyshakespeare")
    vocab = Vocabulary.from_text(train)
    model = NGramLM(5).fit(vocab.encode(train), len(vocab))
    nats = model.bits_per_char(vocab.encode(test)) * math.log(2)
    assert nats == pytest.approx(SHAKESPEARE_NATS_5, abs=2e-3)
