"""The test-function library: registry, values, derivatives and documented minima."""

from __future__ import annotations

import inspect
import re
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxgd.functions as fns
from tests.reference_functions import REFERENCE


def reference_minima(name: str, num: int = 200_001) -> list[tuple[float, float]]:
    """Every local minimum on the domain by a dense float64 scan of f' and bisection."""
    f, df = REFERENCE[name]
    lo, hi = fns.get(name).domain
    x = np.linspace(lo, hi, num)
    g = df(x)
    found = [lo] if g[0] > 0 else []
    for i in np.flatnonzero((g[:-1] < 0) & (g[1:] >= 0)):
        if g[i + 1] == 0 and i + 2 < num and g[i + 2] <= 0:
            continue  # f' touches 0 without changing sign: a saddle, not a minimum
        a, b = x[i], x[i + 1]
        for _ in range(200):
            m = 0.5 * (a + b)
            a, b = (m, b) if df(m) < 0 else (a, m)
        found.append(0.5 * (a + b))
    if g[-1] < 0:
        found.append(hi)
    return [(float(xm), float(f(xm))) for xm in found]


def documented_minima(fn) -> list[tuple[float, float]]:
    lines = re.findall(r"x = (\S+), f = ([-\d.]+)", inspect.getdoc(fn))
    return [(float(x), float(v)) for x, v in lines]


def test_registry_lists_every_public_function():
    assert fns.names() == list(fns.FUNCTIONS) == list(REFERENCE)
    for name, spec in fns.FUNCTIONS.items():
        assert spec.name == name
        assert spec.f is getattr(fns, name)
        assert name in fns.__all__
        lo, hi = spec.domain
        assert isinstance(lo, float) and isinstance(hi, float) and lo < hi
        assert spec.description and "\n" not in spec.description
        assert fns.get(name) is spec


def test_get_unknown_name_lists_the_choices():
    with pytest.raises(ValueError, match=r"name='nope'.*notebook, double_well"):
        fns.get("nope")
    with pytest.raises(TypeError, match="name must be a string"):
        fns.get(3)


def test_function1d_is_frozen():
    with pytest.raises(AttributeError):
        fns.get("saddle").name = "other"


@pytest.mark.parametrize("name", fns.names())
def test_values_and_gradients_match_numpy_reference(name, x64):
    spec = fns.get(name)
    f_ref, df_ref = REFERENCE[name]
    x = np.linspace(*spec.domain, 257)
    np.testing.assert_allclose(jax.vmap(spec.f)(x), f_ref(x), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(
        jax.jit(jax.vmap(jax.grad(spec.f)))(x), df_ref(x), rtol=1e-10, atol=1e-10
    )


@pytest.mark.parametrize("name", fns.names())
def test_float32_scalar_in_scalar_out(name):
    spec = fns.get(name)
    out = jax.jit(spec.f)(jnp.float32(0.5))
    assert out.shape == () and out.dtype == jnp.float32
    np.testing.assert_allclose(out, REFERENCE[name][0](0.5), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("name", fns.names())
def test_documented_minima_match_dense_float64_search(name):
    documented = documented_minima(fns.get(name).f)
    reference = reference_minima(name)
    assert len(documented) == len(reference), (documented, reference)
    np.testing.assert_allclose(documented, reference, rtol=0, atol=1e-6)


def test_minima_closed_forms():
    def close(found, expected):
        np.testing.assert_allclose(found, expected, rtol=0, atol=1e-12)

    cubic_roots = np.sort(np.roots([4, 0, -4, 0.3]).real)
    close([x for x, _ in reference_minima("double_well")], cubic_roots[[0, 2]])
    close(reference_minima("saddle"), [(1.0, -1 / 12)])
    close(reference_minima("plateau"), [(0.0, 0.0)])
    close(reference_minima("steep_wall"), [(0.0, 0.0)])
    close(reference_minima("rastrigin")[5], (0.0, 0.0))
    close(reference_minima("notebook")[0], (-2 * np.pi, 0.0))


def test_saddle_is_an_inflection_point(x64):
    d1 = jax.grad(fns.saddle)
    slopes, curvature = (
        jax.jit(jax.vmap(d1))(np.array([-0.1, 0.0, 0.1])),
        jax.jit(jax.grad(d1))(0.0),
    )
    assert slopes[1] == 0.0 and curvature == 0.0
    assert slopes[0] < 0 and slopes[2] < 0  # f' does not change sign: no minimum at 0


@pytest.mark.slow
def test_modules_do_not_import_matplotlib():
    code = (
        "import sys, jaxgd.functions, jaxgd.minima, jaxgd.derivative, jaxgd.analysis; "
        "assert 'matplotlib' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("name", fns.names())
def test_default_start_lies_in_the_domain_off_every_stationary_point(name):
    spec = fns.get(name)
    lo, hi = spec.domain
    assert spec.start is not None and lo <= spec.default_start <= hi
    # The notebook starts where the notebook does; elsewhere f' != 0, so descent moves.
    assert name == "notebook" or float(jax.grad(spec.f)(spec.default_start)) != 0.0


def test_default_start_of_a_function_without_one():
    bowl = fns.Function1D("bowl", lambda x: x**2, (1.0, 3.0), "a bowl")
    assert bowl.start is None and bowl.default_start == 2.0
    assert fns.Function1D("b", lambda x: x**2, (-1.0, 3.0), "").default_start == 0.0


def test_a_default_start_outside_the_domain_is_refused():
    with pytest.raises(ValueError, match=r"start=9 lies outside its domain \[1, 3\]"):
        fns.Function1D("bowl", lambda x: (x - 2.0) ** 2, (1.0, 3.0), "one minimum", 9)
    assert fns.Function1D("bowl", lambda x: x**2, (1.0, 3.0), "", 3.0).default_start == 3.0


def test_looking_up_a_function_in_the_other_registry_points_to_it():
    from jaxgd import functions2d

    with pytest.raises(ValueError, match=r"function of two variables: jaxgd.functions2d.get"):
        fns.get("himmelblau")
    with pytest.raises(ValueError, match=r"function of one variable: jaxgd.functions.get"):
        functions2d.get("notebook")
    with pytest.raises(ValueError, match="choose one of") as info:
        fns.get("nope")
    assert "variables" not in str(info.value)


@pytest.mark.parametrize(
    ("domain", "start", "exc", "match"),
    [
        ((3.0, -3.0), None, ValueError, r"domain must be finite with lo < hi; got \(3, -3\)"),
        ((-np.inf, 3.0), None, ValueError, r"domain must be finite with lo < hi; got \(-inf"),
        ((0.0, np.nan), None, ValueError, "domain must be finite"),
        ((1.0, 2.0, 3.0), None, TypeError, r"domain must be a pair \(lo, hi\) of numbers"),
        ((True, 2.0), None, TypeError, r"domain must be a pair \(lo, hi\)"),
        ((0.0, 2.0), float("nan"), ValueError, "start must be finite; got nan"),
        ((0.0, 2.0), "1", TypeError, "start must be a real number; got '1'"),
        ((0.0, 2.0), 1 + 0j, TypeError, "start must be a real number"),
        ((-1.7e308, 1.7e308), None, ValueError, "domain .* is wider than a float64 can span"),
        ((0, 10**400), None, ValueError, "domain is too large for any float"),
        ((0.0, 2.0), -(10**400), ValueError, "start is too large for any float"),
    ],
)
def test_a_bad_domain_or_start_is_refused_where_it_is_given(domain, start, exc, match):
    # A reversed domain reached the experiments as "--domain: [3, -3] is too narrow", a flag
    # nobody passed, and an infinite one as an OverflowError traceback.
    with pytest.raises(exc, match=rf"^Function1D 'bowl': {match}"):
        fns.Function1D("bowl", lambda x: x**2, domain, "", start)


@pytest.mark.parametrize(
    ("name", "f", "description", "match"),
    [
        ("bowl", None, "", "'bowl': f must be a callable written with jax.numpy; got NoneType"),
        ("bowl", 3.0, "", "'bowl': f must be a callable .* got float 3.0"),
        ("bowl", "x**2", "", "'bowl': f must be a callable"),
        (3, lambda x: x**2, "", "3: name must be a string"),
        ("bowl", lambda x: x**2, None, "'bowl': description must be a string"),
    ],
)
def test_a_spec_whose_f_is_no_callable_or_whose_text_is_not_text_is_refused(
    name, f, description, match
):
    # Kept as given, f = None failed only when a sweep first called it, far from the spec.
    with pytest.raises(TypeError, match=rf"^Function1D {match}"):
        fns.Function1D(name, f, (-1.0, 1.0), description)


def test_domain_and_start_are_kept_as_floats():
    spec = fns.Function1D("bowl", lambda x: x**2, [np.int64(-1), np.float32(2)], "", np.int32(1))
    assert spec.domain == (-1.0, 2.0) and type(spec.domain[0]) is float
    assert spec.start == 1.0 and type(spec.start) is float


@pytest.mark.parametrize("name", fns.names())
def test_integer_arrays_are_computed_in_floats(name):
    # x**4 of an int32 array wrapped around: double_well(jnp.int32(300)) was -4.9e8, not 8.1e9.
    f = fns.get(name).f
    ints = np.array([-300, -2, 0, 1, 300, 50_000], np.int32)
    expected = jax.vmap(f)(ints.astype(np.float32))
    for x in (ints, jnp.asarray(ints)):
        out = jax.vmap(f)(x)
        assert out.dtype == jnp.float32
        np.testing.assert_array_equal(out, expected)
    assert f(jnp.int32(300)) == f(jnp.float32(300.0))
    np.testing.assert_allclose(expected, REFERENCE[name][0](ints.astype(np.float64)), rtol=1e-5)


def test_saddle_is_crossed_from_the_left_only_above_the_documented_rate(x64):
    # The docstring said descent from the left never crosses 0; from -1 a rate above
    # 1 / (|x0| (1 + |x0|)) = 0.5 jumps over it in one step.
    import jaxgd

    assert "1 / (|x0| (1 + |x0|))" in inspect.getdoc(fns.saddle)
    for rate, end in ((0.45, "left"), (0.55, "minimum")):
        x = float(jaxgd.descend(fns.saddle, -1.0, rate, 2000))
        assert (x < 0) if end == "left" else x == pytest.approx(1.0)
