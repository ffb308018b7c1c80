"""Checks for from-scratch code and for exercises.

- `rel_error`, `numerical_gradient`, `gradient_check`: does my backward pass agree
  with central differences? (CS231n style: relative error < 1e-7 in float64.)
- `compare(name, ours, reference)`: Karpathy-style line "exacto / aproximado /
  DIFERENTE" with the max abs difference, to check our code against torch.
- `check_*`: assertion helpers for graded exercises; their Spanish messages say
  what is wrong and what was expected, never a bare traceback.
- `student_case(description)`: hidden tests wrap each case in it, so that an
  exception of the student's code reads as a Spanish message naming the case.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np


def to_numpy(x: Any) -> np.ndarray:
    """Turn a NumPy array, torch tensor, tf tensor, list or number into an ndarray."""
    if hasattr(x, "detach"):  # torch
        x = x.detach().cpu().numpy()
    elif hasattr(x, "numpy") and not isinstance(x, np.ndarray):  # tf / keras
        x = x.numpy()
    return np.asarray(x)


def rel_error(a: Any, b: Any, eps: float = 1e-12) -> float:
    """Max relative error max|a-b| / max(|a|+|b|, eps), elementwise."""
    a, b = to_numpy(a).astype(np.float64), to_numpy(b).astype(np.float64)
    if a.shape != b.shape:
        raise ValueError(f"rel_error: formas distintas {a.shape} y {b.shape}.")
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(a) + np.abs(b), eps)))


def numerical_gradient(f: Callable[[np.ndarray], float], x: np.ndarray, h: float = 1e-5) -> np.ndarray:
    """Gradient of scalar f at x by central differences, (f(x+h) - f(x-h)) / 2h.

    `x` is modified in place during the computation and restored afterwards.
    """
    if not np.issubdtype(x.dtype, np.floating):
        raise TypeError("numerical_gradient necesita un array de coma flotante (usa float64).")
    grad = np.zeros_like(x, dtype=np.float64)
    it = np.nditer(x, flags=["multi_index"])
    for _ in it:
        i = it.multi_index
        old = x[i]
        x[i] = old + h
        plus = float(f(x))
        x[i] = old - h
        minus = float(f(x))
        x[i] = old
        grad[i] = (plus - minus) / (2 * h)
    return grad


def gradient_check(
    f: Callable[[np.ndarray], float],
    x: np.ndarray,
    analytic_grad: Any,
    h: float = 1e-5,
    tol: float = 1e-7,
    name: str = "gradiente",
    verbose: bool = True,
) -> float:
    """Compare an analytic gradient with central differences; return the relative error.

    Raises AssertionError (in Spanish) when the relative error exceeds `tol`.
    """
    numeric = numerical_gradient(f, x, h)
    err = rel_error(analytic_grad, numeric)
    if verbose:
        mark = "✔" if err <= tol else "✘"
        print(f"{mark} comprobación de {name}: error relativo {err:.2e} (tolerancia {tol:.0e})")
    if err > tol:
        raise AssertionError(
            f"La comprobación de {name} falló: error relativo {err:.2e} > {tol:.0e}. "
            "Revisa la derivada analítica (backward)."
        )
    return err


def compare(
    name: str, ours: Any, reference: Any, rtol: float = 1e-5, atol: float = 1e-8, verbose: bool = True
) -> bool:
    """Print whether `ours` equals `reference` exactly, approximately, or not at all.

    Returns True when exact or within (rtol, atol) as in `np.allclose`.
    """
    a, b = to_numpy(ours), to_numpy(reference)
    if a.shape != b.shape:
        if verbose:
            print(f"✘ {name:<28} formas distintas: {a.shape} vs {b.shape}")
        return False
    exact = bool(np.array_equal(a, b))
    close = exact or bool(np.allclose(a, b, rtol=rtol, atol=atol))
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    with np.errstate(invalid="ignore"):  # inf - inf: equal infinities count as no difference
        gaps = np.where(a64 == b64, 0.0, np.abs(a64 - b64))
    diff = float(np.max(gaps)) if a.size else 0.0
    if verbose:
        label = "exacto" if exact else ("aproximado" if close else "DIFERENTE")
        mark = "✔" if close else "✘"
        print(f"{mark} {name:<28} {label:<10} máx |dif| = {diff:.2e}")
    return close


# ----------------------------------------------------------------------------
# Assertion helpers for exercises (messages in Spanish, for students).


def check_type(value: Any, types: type | tuple[type, ...], name: str = "resultado") -> None:
    if not isinstance(value, types):
        names = types.__name__ if isinstance(types, type) else " o ".join(t.__name__ for t in types)
        if value is None:
            raise AssertionError(f"`{name}` es None: ¿olvidaste el `return`? Se esperaba {names}.")
        raise AssertionError(f"`{name}` debe ser {names}, pero es {type(value).__name__}.")


def check_shape(value: Any, expected: Sequence[int], name: str = "resultado") -> None:
    if value is None:
        raise AssertionError(f"`{name}` es None: ¿olvidaste el `return`?")
    shape = tuple(np.shape(to_numpy(value)))
    if shape != tuple(expected):
        raise AssertionError(
            f"`{name}` tiene forma {shape}, pero se esperaba {tuple(expected)}. "
            "Revisa los ejes de tus operaciones (keepdims, transpuestas, sumas)."
        )


def check_dtype(value: Any, kind: str = "float", name: str = "resultado") -> None:
    """kind: "float", "int" or "bool"."""
    arr = to_numpy(value)
    ok = {
        "float": np.issubdtype(arr.dtype, np.floating),
        "int": np.issubdtype(arr.dtype, np.integer),
        "bool": arr.dtype == np.bool_,
    }
    if kind not in ok:
        raise ValueError(f"kind debe ser 'float', 'int' o 'bool', no {kind!r}")
    if not ok[kind]:
        spanish = {"float": "coma flotante", "int": "entero", "bool": "booleano"}[kind]
        raise AssertionError(f"`{name}` tiene tipo {arr.dtype}, pero se esperaba un tipo {spanish}.")


def check_finite(value: Any, name: str = "resultado", hint: str = "") -> None:
    """Fail when `value` holds NaN or inf; `hint` is the likely cause for this exercise (Spanish).

    The hint is the caller's, because only the exercise knows what can produce a non-finite
    value there (an exp that overflows, a log(0), a division by zero...).
    """
    arr = to_numpy(value).astype(np.float64)
    bad = int((~np.isfinite(arr)).sum())
    if bad:
        what = "1 valor no finito" if bad == 1 else f"{bad} valores no finitos"
        raise AssertionError(f"`{name}` contiene {what} (NaN o inf)." + (f" {hint}" if hint else ""))


def check_close(
    value: Any, expected: Any, name: str = "resultado", rtol: float = 1e-5, atol: float = 1e-8,
    finite_hint: str = "",
) -> None:
    """Shape, finiteness and values within tolerance, each with its own message."""
    exp = to_numpy(expected)
    check_shape(value, exp.shape, name)
    if np.all(np.isfinite(exp.astype(np.float64))):
        check_finite(value, name, finite_hint)
    got = to_numpy(value).astype(np.float64)
    if not np.allclose(got, exp, rtol=rtol, atol=atol):
        diff = np.abs(got - exp)
        idx = np.unravel_index(int(np.argmax(diff)), diff.shape) if diff.ndim else ()
        where = f" en la posición {tuple(int(i) for i in idx)}" if idx else ""
        raise AssertionError(
            f"`{name}` no coincide con lo esperado{where}: obtuviste {got[idx]:.6g}, "
            f"se esperaba {exp[idx]:.6g} (máx |dif| = {float(diff.max()):.2e}, tolerancia rtol={rtol:g})."
        )


@contextmanager
def student_case(description: str) -> Iterator[None]:
    """Turn any error inside the block, other than a failed check, into a Spanish message naming the case.

        with student_case("contar_parametros con una red VGG sobre (3, 32, 32)"):
            total, forma = contar_parametros(capas, (3, 32, 32))

    Hidden tests wrap each case in it, so a student whose function raises, or returns
    something of the wrong type that makes the test's own code fail, reads which case
    failed and why instead of a bare English exception.
    """
    try:
        yield
    except AssertionError:
        raise
    except NotImplementedError:
        raise AssertionError(f"Con {description}: la función todavía no está resuelta "
                             "(queda `raise NotImplementedError()`).") from None
    except Exception as e:  # noqa: BLE001 - any error of the student's code, reported in Spanish
        detail = f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
        raise AssertionError(f"Con {description}, tu código produjo un error ({detail}), así que las pruebas no "
                             "pudieron comprobar este caso. Prueba tu función con entradas como las de este caso "
                             "(y revisa el tipo y la forma de lo que devuelve).") from None
