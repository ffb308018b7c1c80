import numpy as np
import pytest
import torch

from course_utils.checks import (
    check_close,
    check_dtype,
    check_finite,
    check_shape,
    check_type,
    compare,
    gradient_check,
    numerical_gradient,
    rel_error,
    student_case,
)


def test_rel_error_basic_and_shape_mismatch():
    assert rel_error(np.ones(3), np.ones(3)) == 0.0
    assert rel_error([1.0], [1.1]) == pytest.approx(0.1 / 2.1)
    with pytest.raises(ValueError, match="formas distintas"):
        rel_error(np.ones(2), np.ones(3))


def test_numerical_gradient_matches_torch_autograd():
    rng = np.random.default_rng(0)
    W = rng.normal(size=(3, 4))
    x = rng.normal(size=4)
    f = lambda w: float(np.sum(np.tanh(w @ x) ** 2))  # noqa: E731
    wt = torch.tensor(W, requires_grad=True)
    (torch.tanh(wt @ torch.tensor(x)) ** 2).sum().backward()
    assert rel_error(numerical_gradient(f, W.copy()), wt.grad) < 1e-8
    # x is restored after the computation
    W2 = W.copy()
    numerical_gradient(f, W2)
    assert np.array_equal(W, W2)


def test_gradient_check_passes_and_fails(capsys):
    x = np.array([1.0, -2.0, 3.0])
    f = lambda v: float(np.sum(v ** 3))  # noqa: E731
    err = gradient_check(f, x, 3 * x ** 2, name="cubo")
    assert err < 1e-7 and "✔" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="Revisa la derivada"):
        gradient_check(f, x, 2 * x ** 2, name="cubo mal", verbose=False)
    with pytest.raises(TypeError, match="coma flotante"):
        numerical_gradient(f, np.array([1, 2]))


def test_compare_exact_close_different(capsys):
    a = torch.tensor([1.0, 2.0])
    assert compare("exacto", a, a.numpy())
    assert compare("cerca", a, a + 1e-6)
    assert not compare("lejos", a, a + 1.0)
    assert not compare("forma", a, np.ones(3))
    out = capsys.readouterr().out
    for word in ("exacto", "aproximado", "DIFERENTE", "formas distintas"):
        assert word in out


def test_check_helpers_spanish_messages():
    check_type(np.ones(2), np.ndarray)
    with pytest.raises(AssertionError, match="olvidaste el `return`"):
        check_type(None, np.ndarray, "salida")
    with pytest.raises(AssertionError, match=r"forma \(2,\), pero se esperaba \(2, 1\)"):
        check_shape(np.ones(2), (2, 1))
    with pytest.raises(AssertionError, match="coma flotante"):
        check_dtype(np.ones(2, dtype=int), "float")
    with pytest.raises(AssertionError, match="NaN o inf"):
        check_finite(np.array([1.0, np.inf]))
    check_close(np.array([1.0, 2.0]), [1.0, 2.0 + 1e-9])
    with pytest.raises(AssertionError, match=r"posición \(1,\).*obtuviste 3.*se esperaba 2"):
        check_close(np.array([1.0, 3.0]), [1.0, 2.0], name="y")


def test_compare_equal_infinities_is_not_nan(capsys):
    import warnings

    a = np.array([1.0, np.inf, -np.inf])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert compare("infinitos", a, a.copy())
    assert "nan" not in capsys.readouterr().out


def test_check_finite_plural_and_hint_only_when_given():
    with pytest.raises(AssertionError, match=r"contiene 1 valor no finito \(NaN o inf\)\.$"):
        check_finite(np.array([1.0, np.nan]), "p")
    with pytest.raises(AssertionError, match="contiene 2 valores no finitos.*Restas el máximo de cada fila"):
        check_finite(np.array([np.inf, np.nan]), "p", hint="¿Restas el máximo de cada fila?")
    with pytest.raises(AssertionError, match="división por cero"):
        check_close(np.array([np.nan]), [0.5], "f1", finite_hint="¿Una división por cero?")
    check_close(np.array([np.inf, 1.0]), [np.inf, 1.0])  # an expected inf is not a student error


def test_student_case_names_the_case_in_spanish():
    with pytest.raises(AssertionError, match=r"Con una red VGG, tu código produjo un error \(TypeError: can't"):
        with student_case("una red VGG"):
            (3, 3) * (1, 2)  # noqa: B018 - the TypeError a tuple kernel size produces
    with pytest.raises(AssertionError, match="todavía no está resuelta"):
        with student_case("z = 0"):
            raise NotImplementedError()
    with pytest.raises(AssertionError, match="^mensaje propio$"):  # a failed check passes through unchanged
        with student_case("z = 0"):
            raise AssertionError("mensaje propio")
    with student_case("nada"):
        pass
