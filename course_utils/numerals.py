"""Spanish number words ↔ digits: the offline translation task of lesson 04.4 (seq2seq with attention).

    spanish_words(2341)                  # 'dos mil trescientos cuarenta y uno'
    spanish_words(21000)                 # 'veintiún mil' (num2words writes 'veintiuno mil')
    train, test = make_pairs(20000, 2000, seed=0)   # [('veintiún mil', '21000'), ...], disjoint numbers

`num2words(n, lang="es")` spells numbers offline, but keeps "uno" before "mil" and
"millones", where Spanish drops the final -o (apocope; RAE, *Nueva gramática* §21.2):
"veintiún mil", "treinta y un mil", "ciento un mil", "doscientos un mil", "veintiún
millones". "uno" stays at the end of a number ("mil uno", "ciento veintiuno"), and the
feminine "veintiuna mil", also accepted, is not used. About 9 % of the numbers below a
million are affected (89,000 of them: every n with n // 1000 % 100 ending in a 1 other than 11).
"""

from __future__ import annotations

import re

import numpy as np

__all__ = ["MAX_NUMBER", "make_pairs", "spanish_words"]

MAX_NUMBER = 999_999  # the task's numbers are 0..MAX_NUMBER: up to six digits

# "uno"/"veintiuno" directly before "mil" or "millón/millones" lose their final -o.
_APOCOPE = re.compile(r"\b(veinti)?uno(?= (?:mil|millón|millones)\b)")


def _apocope(match: re.Match[str]) -> str:
    return "veintiún" if match.group(1) else "un"


def spanish_words(n: int, apocope: bool = True) -> str:
    """The Spanish cardinal of `n` (an int ≥ 0) in words, with "un"/"veintiún" before "mil" and "millones".

    Wraps `num2words(n, lang="es")`, imported here so that `course_utils` imports without it;
    `apocope=False` returns num2words' text unchanged (to show what the correction does).
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"spanish_words espera un número entero, no {type(n).__name__}.")
    if n < 0:
        raise ValueError(f"spanish_words espera un número ≥ 0, no {n}.")
    try:
        from num2words import num2words
    except ImportError:
        raise ImportError("Falta el paquete num2words, que escribe los números en palabras. "
                          "Instálalo con: pip install num2words==0.5.14") from None
    words = num2words(int(n), lang="es")
    return _APOCOPE.sub(_apocope, words) if apocope else words


def _sample_numbers(count: int, max_number: int, rng: np.random.Generator) -> np.ndarray:
    """`count` distinct numbers in 0..max_number, with the number of digits roughly uniform.

    Each draw picks a length in 1..len(str(max_number)) uniformly and then a number of that
    length; repeats are dropped, so the short lengths (only 10 one-digit numbers) run out and
    the long ones fill the rest. The order of first appearance is kept (it depends on the seed).
    """
    if count > max_number + 1:
        raise ValueError(f"No hay {count} números distintos entre 0 y {max_number}.")
    max_len = len(str(max_number))
    chosen: dict[int, None] = {}  # an ordered set
    while len(chosen) < count:
        lengths = rng.integers(1, max_len + 1, size=2 * count)
        low = np.where(lengths == 1, 0, 10 ** (lengths - 1))
        high = np.minimum(10 ** lengths - 1, max_number)
        draws = low + (rng.random(2 * count) * (high - low + 1)).astype(np.int64)
        for x in draws.tolist():
            if len(chosen) == count:
                break
            chosen.setdefault(x)
    return np.fromiter(chosen, dtype=np.int64, count=count)


def make_pairs(n_train: int, n_test: int, seed: int = 0,
               max_number: int = MAX_NUMBER) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(train, test): lists of (words, digits) pairs for disjoint sets of numbers, the same for the same seed.

    Numbers are drawn without repetition by `_sample_numbers`, so no number (hence no pair)
    is in both lists; digits are the plain decimal string ("21000"), words `spanish_words`.
    """
    if n_train < 1 or n_test < 1:
        raise ValueError(f"Se necesita al menos un ejemplo de entrenamiento y uno de prueba "
                         f"(n_train={n_train}, n_test={n_test}).")
    numbers = _sample_numbers(n_train + n_test, max_number, np.random.default_rng(seed))
    pairs = [(spanish_words(int(n)), str(int(n))) for n in numbers]
    return pairs[:n_train], pairs[n_train:]
