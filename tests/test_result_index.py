"""SweepResult.isel / sel: one rule for NumPy-backed, JAX-backed and loaded results."""

from __future__ import annotations

import dataclasses
import operator
import tempfile
import warnings
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import jaxgd
from jaxgd.result import _COORD, DIMS, SweepResult

NAMES = ("final", "value", "diverged", "starts", "learning_rates", "epochs")


class Position:
    """Not an int, but usable as one (``__index__``), as NumPy and Python allow."""

    def __init__(self, i: int) -> None:
        self.i = i

    def __index__(self) -> int:
        return self.i

    def __repr__(self) -> str:
        return f"Position({self.i})"


@pytest.fixture(scope="module")
def computed():
    return jaxgd.sweep(jnp.cos, [0.5, 2.0, 3.0], [0.1, 0.5], [0, 10, 100])


@pytest.fixture(scope="module", params=["numpy", "jax"])
def res(request, computed):
    host = computed.to_numpy()
    return host if request.param == "numpy" else jax.tree.map(jnp.asarray, host)


def assert_same(got: SweepResult, want: SweepResult) -> None:
    assert got.dims == want.dims
    for name in NAMES:
        a, b = np.asarray(getattr(got, name)), np.asarray(getattr(want, name))
        assert a.shape == b.shape, name
        np.testing.assert_array_equal(a, b, err_msg=name)


# -- 1. integer-like positions behave as ints --------------------------------------------
INT_LIKES = {
    "np.array(1)": lambda: np.array(1),
    "np.int64": lambda: np.int64(1),
    "np.uint8": lambda: np.uint8(1),
    "jnp.int32": lambda: jnp.int32(1),
    "jnp.array(1)": lambda: jnp.array(1),
    "jnp.argmax": lambda: jnp.argmax(jnp.array([0.0, 5.0, 1.0])),
    "np.argmax": lambda: np.argmax([0.0, 5.0, 1.0]),
    "__index__": lambda: Position(1),
}


@pytest.mark.parametrize("make", INT_LIKES.values(), ids=INT_LIKES.keys())
def test_integer_like_position_drops_the_axis_like_an_int(res, make):
    picked = res.isel(start=make())
    assert picked.dims == ("learning_rate", "epochs")
    assert_same(picked, res.isel(start=1))
    # The repro: a later selection must read the right axis.
    np.testing.assert_array_equal(
        np.asarray(picked.sel(learning_rate=0.5).final), np.asarray(res.final)[1, 1]
    )
    np.testing.assert_array_equal(
        np.asarray(picked.isel(epochs=make()).final), np.asarray(res.final)[1, :, 1]
    )
    assert float(picked.starts) == 2.0


@pytest.mark.parametrize(
    "index",
    [True, np.bool_(False), np.array(True), jnp.array(False)],
    ids=["bool", "np.bool_", "np 0-d bool", "jnp 0-d bool"],
)
def test_bool_is_not_a_position(res, index):
    with pytest.raises(TypeError, match=r"isel\(start=\.\.\.\): a bool is not a position"):
        res.isel(start=index)


@pytest.mark.parametrize(
    "index", [1.0, np.float32(1), np.array(1.0), jnp.array(1.0), [0.0, 1.0], np.array([1.5])]
)
def test_float_is_not_a_position(res, index):
    with pytest.raises(TypeError, match=r"isel\(start=\.\.\.\).*use sel\(\)"):
        res.isel(start=index)


@pytest.mark.parametrize("index", [None, "1", Ellipsis, {1}, [0, True], [0, "a"]])
def test_other_objects_are_not_positions(res, index):
    with pytest.raises(TypeError, match=r"isel\(start=\.\.\.\)"):
        res.isel(start=index)


@pytest.mark.parametrize(
    "index", [np.zeros((2, 1), int), jnp.zeros((1, 1), int), [[0, 1]], [np.array([0])]]
)
def test_index_arrays_of_more_than_one_dimension_are_refused(res, index):
    with pytest.raises(ValueError, match=r"isel\(start=\.\.\.\).*1-D"):
        res.isel(start=index)


def test_sequences_arrays_slices_and_masks_keep_the_axis(res):
    f = np.asarray(res.final)
    for index, expect in [
        ([2, 0, 2], [2, 0, 2]),
        ((1,), [1]),
        (np.array([-1, 0]), [2, 0]),
        (jnp.array([1, 1]), [1, 1]),
        ([], []),
        (slice(None, None, -2), [2, 0]),
        (slice(np.int64(1), Position(5)), [1, 2]),
        ([True, False, True], [0, 2]),
        (np.array([False, True, False]), [1]),
        (jnp.array([True, True, True]), [0, 1, 2]),
    ]:
        sub = res.isel(start=index)
        assert sub.dims == DIMS, index
        np.testing.assert_array_equal(np.asarray(sub.final), f[expect])
        np.testing.assert_array_equal(np.asarray(sub.starts), np.asarray(res.starts)[expect])


def test_a_mask_must_be_as_long_as_the_axis(res):
    with pytest.raises(
        IndexError, match=r"mask on axis 'start' must have its length 3; got length 2"
    ):
        res.isel(start=[True, False])


def test_slice_step_zero_and_float_bounds_are_refused(res):
    with pytest.raises(ValueError, match=r"isel\(start=\.\.\.\): slice step cannot be 0"):
        res.isel(start=slice(None, None, 0))
    with pytest.raises(TypeError, match="slice bounds"):
        res.isel(start=slice(0.0, 2))


# -- 2. out of range: IndexError on every result -------------------------------------------
@pytest.mark.parametrize(
    ("index", "bad"),
    [
        (5, 5),
        (-4, -4),
        ([0, 7], 7),
        (np.array([0, -5]), -5),
        (jnp.array([3]), 3),
        (jnp.int32(3), 3),
        (np.array(-4), -4),
    ],
)
def test_out_of_range_raises_on_every_result(res, index, bad):
    msg = rf"position {bad} is off axis 'start' of length 3 \(valid: -3 to 2\)"
    with pytest.raises(IndexError, match=msg):
        res.isel(start=index)


def test_loaded_result_raises_the_same(tmp_path, computed):
    back = jaxgd.load(computed.save(tmp_path / "r"))
    with pytest.raises(IndexError, match="off axis 'learning_rate' of length 2"):
        back.isel(learning_rate=2)


def test_inside_jit_a_python_position_is_still_checked(res):
    with pytest.raises(IndexError, match="off axis 'epochs' of length 3"):
        jax.jit(lambda r: r.isel(epochs=3))(res)
    out = jax.jit(lambda r: r.isel(start=-1, epochs=[0, 2]))(res)
    assert_same(out, res.isel(start=2, epochs=[0, 2]))


def test_inside_jit_a_traced_position_drops_the_axis(res):
    pick = jax.jit(lambda r, i: r.isel(start=i))
    assert_same(pick(res, 1), res.isel(start=1))
    keep = jax.jit(lambda r, i: r.isel(start=i))(res, jnp.array([2, 0]))
    assert_same(keep, res.isel(start=[2, 0]))
    with pytest.raises(TypeError, match="a mask cannot select"):
        jax.jit(lambda r, m: r.isel(start=m))(res, jnp.array([True, False, True]))
    with pytest.raises(TypeError, match="integer positions"):
        jax.jit(lambda r, i: r.isel(start=i))(res, 1.0)
    # A traced position off the axis cannot be checked: it is clamped (as documented), never
    # filled with NaN (as jnp.take would).
    assert_same(pick(res, 7), res.isel(start=-1))
    assert_same(pick(res, jnp.array([7, -9])), res.isel(start=[-1, 0]))


def test_inside_jit_a_list_of_traced_positions_is_one_traced_index(res):
    pick = jax.jit(lambda r, i, j: r.isel(start=[i, -1, j], epochs=(j, 0)))
    assert_same(pick(res, 1, 0), res.isel(start=[1, 2, 0], epochs=[0, 0]))
    # Its concrete entries are still checked; its traced ones are clamped, as a traced array's.
    with pytest.raises(IndexError, match="position 3 is off axis 'start'"):
        jax.jit(lambda r, i: r.isel(start=[i, 3]))(res, 0)
    assert_same(jax.jit(lambda r, i: r.isel(start=[i]))(res, 9), res.isel(start=[2]))
    refused = {
        "integer scalars only; found bool": lambda r, i: r.isel(start=[i, True]),
        "integer scalars only; found .* float32": lambda r, i: r.isel(start=[i, i * 0.5]),
        "a mask cannot select": lambda r, i: r.isel(start=[i > 0, i > 1, i > 2]),
        r"must be flat \(1-D\)": lambda r, i: r.isel(start=[jnp.stack([i, i])]),
    }
    for message, select in refused.items():
        with pytest.raises((TypeError, ValueError), match=message):
            jax.jit(select)(res, 1)


def test_inside_jit_a_slice_with_traced_bounds_says_why_it_cannot_be(res):
    with pytest.raises(TypeError, match=r"slice's bounds and step must be concrete .* jnp\.arange"):
        jax.jit(lambda r, i: r.isel(start=slice(i, None)))(res, 1)
    out = jax.jit(lambda r, i: r.isel(start=i + jnp.arange(2)))(res, 1)
    assert_same(out, res.isel(start=slice(1, 3)))


def test_a_numpy_result_closed_over_in_jit_takes_a_traced_position(computed):
    host = computed.to_numpy()
    out = jax.jit(lambda i: host.isel(learning_rate=i).final)(1)
    np.testing.assert_array_equal(np.asarray(out), host.final[:, 1])


def test_unknown_and_dropped_axes_name_the_axes_that_exist(res):
    with pytest.raises(ValueError, match=r"no axis named 'rate'.*\['start', 'learning_rate'"):
        res.isel(rate=0)
    cell = res.isel(start=0)
    with pytest.raises(ValueError, match=r"'start' was dropped.*res\.starts"):
        cell.isel(start=0)
    with pytest.raises(ValueError, match="no axis named 'start'"):
        cell.sel(start=0.5)


def test_all_indexers_are_checked_before_any_is_applied(res):
    with pytest.raises(IndexError, match="'epochs'"):
        res.isel(start=0, epochs=9)


# -- 3. sel ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "value",
    [10, np.int64(10), np.array(10), jnp.array(10), jnp.int32(10), np.float32(10), 10.0],
    ids=["int", "np.int64", "np 0-d", "jnp 0-d", "jnp.int32", "np.float32", "float"],
)
def test_sel_scalar_like_drops_the_axis(res, value):
    cell = res.sel(epochs=value)
    assert cell.dims == ("start", "learning_rate")
    assert_same(cell, res.isel(epochs=1))


@pytest.mark.parametrize("value", [[10], (10, 0), np.array([100]), jnp.array([0, 0]), []], ids=str)
def test_sel_sequence_keeps_the_axis(res, value):
    sub = res.sel(epochs=value)
    assert sub.dims == DIMS
    np.testing.assert_array_equal(np.asarray(sub.epochs), np.asarray(value, np.int64))


@pytest.mark.parametrize("value", [np.nan, float("inf"), -np.inf, [0.5, np.nan], jnp.nan])
def test_sel_non_finite_values_are_refused(res, value):
    with pytest.raises(ValueError, match=r"sel\(start=\.\.\.\): coordinate values must be finite"):
        res.sel(start=value, method="nearest")


@pytest.mark.parametrize(
    "value",
    ["0.5", b"1", None, True, np.bool_(True), [True], 1 + 0j, object(), ["a"]],
    # Stable ids (an object's repr holds its address), so every test process collects alike.
    ids=lambda v: "object" if type(v) is object else repr(v),
)
def test_sel_non_numeric_values_are_refused(res, value):
    with pytest.raises(TypeError, match=r"sel\(start=\.\.\.\)"):
        res.sel(start=value)


def test_sel_refuses_ragged_and_2d_values(res):
    with pytest.raises(ValueError, match=r"sel\(start=\.\.\.\)"):
        res.sel(start=[[0.5], [2.0]])
    with pytest.raises(ValueError, match=r"sel\(start=\.\.\.\)"):
        res.sel(start=[0.5, [2.0]])


@pytest.mark.parametrize("method", ["near", "", None, 1, np.array("exact")])
def test_sel_method_is_validated(res, method):
    with pytest.raises(ValueError, match="method must be 'exact' or 'nearest'"):
        res.sel(start=0.5, method=method)


def test_sel_inside_jit_says_to_use_isel(res):
    with pytest.raises(TypeError, match="Select positions with isel"):
        jax.jit(lambda r: r.sel(start=0.5))(res)
    for wanted in ([0.5, 2.0], [[0.5]]):  # a traced value inside a list, too
        with pytest.raises(TypeError, match="Select positions with isel"):
            jax.jit(lambda r, v, w=wanted: r.sel(start=jax.tree.map(lambda _: v, w)))(res, 0.5)


def test_sel_nearest_takes_the_first_of_equals():
    res = SweepResult(
        *(np.zeros(3, np.float32),) * 2,
        np.zeros(3, bool),
        np.array([1.0, 3.0, 3.0], np.float32),
        np.float32(0.1),
        np.int32(5),
        dims=("start",),
    )
    assert res.sel(start=2.0, method="nearest").starts == 1.0
    assert res.sel(start=[3.5, 2.5], method="nearest").starts.tolist() == [3.0, 3.0]
    assert res.isel(start=[]).sel(start=[]).shape == (0,)
    with pytest.raises(KeyError, match="axis is empty"):
        res.isel(start=[]).sel(start=1.0, method="nearest")


# -- 7a. property test: any index, any result, against NumPy ---------------------------------
def random_result(data, n_drop_max: int = 3) -> tuple[SweepResult, dict]:
    """A consistent NumPy result of random sizes, and its reference (a dict of NumPy arrays)."""
    sizes = [data.draw(st.integers(1, 5), label=f"len {d}") for d in DIMS]
    seed = data.draw(st.integers(0, 2**32 - 1), label="seed")
    rng = np.random.default_rng(seed)
    final = rng.normal(size=sizes).astype(np.float32)
    value = rng.normal(size=sizes).astype(np.float32)
    final[rng.random(sizes) < 0.1] = np.nan
    value[rng.random(sizes) < 0.1] = np.inf
    res = SweepResult(
        final=final,
        value=value,
        diverged=~(np.isfinite(final) & np.isfinite(value)),
        starts=rng.normal(size=sizes[0]).round(2).astype(np.float32),
        learning_rates=rng.uniform(0, 1, sizes[1]).round(3).astype(np.float32),
        epochs=rng.integers(0, 20, sizes[2]).astype(np.int32),
        function="random",
    )
    ref = {"dims": DIMS, **res.as_dict()}
    for dim in DIMS:
        if data.draw(st.booleans(), label=f"drop {dim}"):
            i = data.draw(st.integers(0, res.sizes[dim] - 1))
            res = res.isel(**{dim: i})
            ref = expected_isel(ref, dim, i)
    # Any order of the axes is a valid result (analysis finds the start axis wherever it is).
    order = data.draw(st.permutations(range(len(res.dims))), label="axis order")
    res = dataclasses.replace(
        res,
        **{k: np.transpose(getattr(res, k), order) for k in ("final", "value", "diverged")},
        dims=tuple(res.dims[i] for i in order),
    )
    ref = {
        **ref,
        **{k: np.transpose(ref[k], order) for k in ("final", "value", "diverged")},
        "dims": tuple(ref["dims"][i] for i in order),
    }
    kind = data.draw(st.sampled_from(["numpy", "jax", "loaded"]), label="kind")
    if kind == "jax":
        res = jax.tree.map(jnp.asarray, res)
    elif kind == "loaded":
        with tempfile.TemporaryDirectory() as folder:
            res = jaxgd.load(res.save(Path(folder) / "r"))
    return res, ref


def is_bool_scalar(x) -> bool:
    return isinstance(x, (bool, np.bool_)) or (
        isinstance(x, (np.ndarray, jax.Array)) and x.ndim == 0 and x.dtype == bool
    )


def expected_isel(ref: dict, dim: str, index):
    """The same selection done by NumPy on the reference, with the documented decisions:
    a bool, float, None or string is not a position; a list is integers or a mask; a
    0-d integer array is an int. Returns the new reference, or the exception class due."""
    if dim not in ref["dims"]:
        return ValueError
    if index is None or isinstance(index, str) or is_bool_scalar(index):
        return TypeError
    if isinstance(index, slice):
        key = index
        if any(isinstance(p, float) for p in (index.start, index.stop, index.step)):
            return TypeError
    elif isinstance(index, (list, tuple)):
        if index and all(is_bool_scalar(x) for x in index):
            key = np.array(index, bool)
        elif all(isinstance(x, int) and not isinstance(x, bool) for x in index):
            key = np.array(index, np.int64)
        else:
            return TypeError
    elif isinstance(index, (np.ndarray, jax.Array)):
        key = np.asarray(index)
        if key.dtype.kind not in "iub":
            return TypeError
        if key.ndim > 1:
            return ValueError
        if key.ndim == 0:
            key = int(key)
    elif isinstance(index, (float, np.floating)):
        return TypeError
    else:
        key = operator.index(index)
    axis = ref["dims"].index(dim)
    out = {"dims": tuple(d for d in ref["dims"] if d != dim or not isinstance(key, int))}
    try:
        # NumPy 2.0 warns (DeprecationWarning) where 2.1 raises IndexError: an index off an
        # axis of an array with no elements. The reference is the later rule, as isel's.
        with warnings.catch_warnings():
            warnings.filterwarnings("error", "Out of bound index", DeprecationWarning)
            for name in ("final", "value", "diverged"):
                out[name] = ref[name][(slice(None),) * axis + (key,)]
            for d in DIMS:
                out[_COORD[d]] = ref[_COORD[d]][key] if d == dim else ref[_COORD[d]]
    except (IndexError, ValueError) as e:
        return type(e)
    except DeprecationWarning:
        return IndexError
    return out


def check_outcome(do, want, dim: str):
    """``do()`` gives the reference ``want``, or raises the error class due, naming ``dim``."""
    if isinstance(want, type):
        with pytest.raises(want) as info:
            do()
        assert dim in str(info.value)
        return None
    got = do()
    assert got.dims == want["dims"]
    for name in NAMES:
        a = np.asarray(getattr(got, name))
        assert a.shape == want[name].shape, name
        np.testing.assert_array_equal(a, want[name], err_msg=name)
    return got


ints = st.integers(-7, 7)
bools = st.booleans()
INDEXES = st.one_of(
    ints,
    ints.map(np.int64),
    ints.map(np.int8),
    ints.map(np.array),
    ints.map(jnp.int32),
    ints.map(jnp.array),
    ints.map(Position),
    bools,
    bools.map(np.bool_),
    bools.map(np.array),
    bools.map(jnp.array),
    st.floats(-3, 3),
    st.floats(-3, 3).map(np.float32),
    st.floats(-3, 3).map(np.array),
    st.lists(ints, max_size=4),
    st.lists(ints, max_size=4).map(tuple),
    st.lists(ints, max_size=4).map(lambda v: np.array(v, np.int64)),
    st.lists(ints, min_size=1, max_size=4).map(lambda v: jnp.array(v, jnp.int32)),
    st.lists(bools, min_size=1, max_size=6),
    st.lists(bools, max_size=6).map(lambda v: np.array(v, bool)),
    st.lists(bools, min_size=1, max_size=6).map(jnp.array),
    st.lists(ints, min_size=1, max_size=3).map(lambda v: np.array([v, v])),
    st.lists(st.one_of(ints, bools), min_size=2, max_size=3),
    st.lists(st.floats(-3, 3), min_size=1, max_size=3),
    st.builds(slice, st.none() | ints, st.none() | ints, st.none() | st.integers(-3, 3)),
    st.builds(slice, st.floats(0, 2), st.none()),
    st.none(),
    st.text(max_size=2),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_isel_matches_numpy_or_names_the_dimension(data):
    res, ref = random_result(data)
    for _ in range(data.draw(st.integers(1, 3), label="selections")):
        dim = data.draw(st.sampled_from(DIMS), label="dim")
        index = data.draw(INDEXES, label="index")
        want = expected_isel(ref, dim, index)
        res = check_outcome(lambda: res.isel(**{dim: index}), want, dim)  # noqa: B023
        if res is None:
            return
        ref = want


@pytest.mark.parametrize("index", [[1], 1, -2, np.array([1]), [0, 1]])
def test_an_index_off_an_axis_of_an_emptied_result_is_an_index_error(index):
    # Every start selected away: NumPy 2.0 only warns at an index off another axis of the
    # empty array (2.1 raises); the reference says IndexError on both, as isel does.
    res = jaxgd.sweep(lambda x: x**2, [0.0], [0.1], [10]).isel(start=[])
    ref = {"dims": res.dims, **{name: np.asarray(getattr(res, name)) for name in NAMES}}
    want = expected_isel(ref, "learning_rate", index)
    assert want is IndexError
    check_outcome(lambda: res.isel(learning_rate=index), want, "learning_rate")


def expected_sel(ref: dict, dim: str, value, method: str):
    """Positions found by a plain loop over the coordinate, then :func:`expected_isel`."""
    if method not in ("exact", "nearest"):
        return ValueError
    if dim not in ref["dims"]:
        return ValueError
    if value is None or isinstance(value, str) or is_bool_scalar(value):
        return TypeError
    a = np.asarray(value)
    if a.dtype.kind == "b" or (a.dtype.kind not in "iuf" and a.size):
        return TypeError
    if a.ndim > 1:
        return ValueError
    a = a.astype(np.float64)
    if not np.isfinite(a).all():
        return ValueError
    axis = ref[_COORD[dim]]
    coords = axis.astype(np.float64).tolist()
    # A float axis cannot tell apart values closer to 0 than its smallest step: 2**-150
    # is 0.0 on a float32 axis.
    floor = np.finfo(axis.dtype).smallest_subnormal if axis.dtype.kind == "f" else 0.0
    positions = []
    for v in a.reshape(-1).tolist():
        if not coords:
            return KeyError
        i = min(range(len(coords)), key=lambda j: abs(coords[j] - v))
        if method == "exact" and not abs(coords[i] - v) <= max(1e-6 * abs(v), floor):
            return KeyError
        positions.append(i)
    key = positions[0] if a.ndim == 0 else np.array(positions, np.int64)
    return expected_isel(ref, dim, key)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_sel_matches_a_plain_search_or_names_the_dimension(data):
    res, ref = random_result(data)
    for _ in range(data.draw(st.integers(1, 3), label="selections")):
        dim = data.draw(st.sampled_from(DIMS), label="dim")
        on_axis = st.sampled_from(ref[_COORD[dim]].reshape(-1).tolist() or [0.0])
        number = st.one_of(
            on_axis,
            on_axis.map(lambda v: v + 0.123),
            st.floats(-5, 25),
            st.integers(-2, 25),
            st.sampled_from([np.nan, np.inf, -np.inf]),
        )
        value = data.draw(
            st.one_of(
                number,
                number.map(np.float32),
                number.map(np.array),
                number.map(jnp.asarray),
                st.lists(number, max_size=3),
                st.lists(number, min_size=1, max_size=3).map(np.array),
                st.lists(number, min_size=1, max_size=2).map(lambda v: np.array([v])),
                bools,
                st.text(max_size=2),
                st.none(),
            ),
            label="value",
        )
        method = data.draw(st.sampled_from(["exact", "nearest", "Nearest"]), label="method")
        want = expected_sel(ref, dim, value, method)
        named = dim if method in ("exact", "nearest") else "method"
        res = check_outcome(lambda: res.sel(method=method, **{dim: value}), want, named)  # noqa: B023
        if res is None:
            return
        ref = want


def test_an_empty_mask_selects_nothing_on_any_axis():
    res = jaxgd.sweep(jnp.cos, [0.5], [0.1, 0.5], [0, 10])
    for empty in ([], np.array([], bool), np.array([], np.int64)):
        out = res.isel(start=empty)
        assert out.shape == (0, 2, 2) and out.dims == res.dims


def test_sel_on_whole_number_epochs_is_exact():
    res = jaxgd.sweep(lambda x: (x - 1.0) ** 2, [0.0], [0.1], [1_000, 1_002])
    assert res.sel(epochs=1_002).epochs.item() == 1_002
    assert res.sel(epochs=1002.0).epochs.item() == 1_002  # an integral float is that count
    for typo in (1_001, 1_000.9, 1_001.5):
        with pytest.raises(KeyError, match="is not a coordinate of this result"):
            res.sel(epochs=typo)
    assert res.sel(epochs=1_001, method="nearest").epochs.item() == 1_000  # the first of equals


@pytest.mark.parametrize("x64_on", [False, True], ids=["float32", "float64"])
def test_sel_next_to_zero_matches_zero_only_below_the_axis_step(x64_on):
    with jax.enable_x64(x64_on):
        res = jaxgd.sweep(lambda x: (x - 1.0) ** 2, [0.0, 1e-30], [0.1], 3)
    half_step = 2.0**-150  # half float32's smallest step: 0.0 in float32, not in float64
    if x64_on:
        with pytest.raises(KeyError, match=r"start=7\.006492322e-46 is not a coordinate"):
            res.sel(start=half_step)
    else:
        assert res.sel(start=half_step).starts.item() == 0.0
    assert res.sel(start=-half_step, method="nearest").starts.item() == 0.0
    with pytest.raises(KeyError, match="is not a coordinate"):
        res.sel(start=1e-40)  # between the two starts, a step from neither


@pytest.mark.parametrize("x64_on", [False, True], ids=["float32", "float64"])
def test_sel_on_float_axes_matches_typed_decimals_but_not_a_neighbour(x64_on):
    with jax.enable_x64(x64_on):
        starts = np.array([1e6 + 0.5, 1e6 + 1.0, 0.1, 0.3])
        res = jaxgd.sweep(lambda x: (x - 1.0) ** 2, starts, np.linspace(0.0, 1.0, 11), 3)
    for typed in (0.1, 0.3, 1e6 + 0.5):
        assert res.sel(start=typed).starts.item() == pytest.approx(typed)
    # linspace's 0.30000000000000004 and a typed 0.3 are the same rate
    assert res.sel(learning_rate=0.3).learning_rates.item() == pytest.approx(0.3)
    # 1e6 + 0.3 is 3 float32 steps (0.0625 each) from 1e6 + 0.5: a typo, not that start
    with pytest.raises(KeyError, match=r"start=1000000.3 is not a coordinate"):
        res.sel(start=1e6 + 0.3)


def test_values_in_a_coarser_float_type_match_within_its_step():
    # A float64 axis read back in float32 (res.learning_rates.astype(np.float32), a value
    # from a float32 computation) holds each rate to float32's precision: it is that rate.
    with jax.enable_x64(True):
        res = jaxgd.sweep(lambda x: (x - 1.0) ** 2, [0.0, 2.0], np.linspace(0.01, 0.1, 10), 3)
    assert res.learning_rates.dtype == np.float64
    for v in (np.float32(0.02), jnp.float32(0.1), np.float16(0.1), jnp.bfloat16(0.1)):
        assert res.sel(learning_rate=v).learning_rates.item() == pytest.approx(float(v), 1e-2)
    got = res.sel(learning_rate=res.learning_rates.astype(np.float32)).learning_rates
    assert (got == res.learning_rates).all()
    got = res.sel(learning_rate=[np.float32(0.03), np.float32(0.05)]).learning_rates
    assert got.tolist() == pytest.approx([0.03, 0.05])
    # still not a neighbour: 0.0205 is far more than a float32 step from 0.02
    with pytest.raises(KeyError, match="not a coordinate"):
        res.sel(learning_rate=np.float32(0.0205))
    with pytest.raises(KeyError, match="not a coordinate"):
        res.sel(learning_rate=jnp.bfloat16(0.095))
    with jax.enable_x64(True):
        pts = jaxgd.sweep(lambda p: (p**2).sum(), np.array([[0.1, 0.2], [0.3, 0.7]]), 0.1, 3)
    assert pts.sel(start=np.float32([0.3, 0.7])).starts.tolist() == [0.3, 0.7]


# -- values far off the axis, huge whole numbers, inconsistent hand-made results ------------
def _hand(starts, epochs, n_starts=None):
    n_starts = len(starts) if n_starts is None else n_starts
    shape = (n_starts, 1, len(epochs))
    return SweepResult(
        final=np.arange(np.prod(shape), dtype=np.float32).reshape(shape),
        value=np.zeros(shape, np.float32),
        diverged=np.zeros(shape, bool),
        starts=np.asarray(starts, np.float32),
        learning_rates=np.array([0.1], np.float32),
        epochs=np.asarray(epochs, np.int64),
    )


@pytest.mark.parametrize(
    ("wanted", "start"), [(1e17, 3.0), (-1e30, 0.5), (2.6, 3.0), (1.25, 0.5), (1.5, 2.0)]
)
def test_nearest_is_the_nearest_however_far_off_the_axis(wanted, start):
    res = _hand([0.5, 3.0, 2.0], [0, 100])  # unsorted on purpose
    assert float(res.sel(start=wanted, method="nearest").starts) == start
    # An independent reference in exact rational arithmetic.
    from fractions import Fraction

    axis = [Fraction(float(v)) for v in np.asarray(res.starts)]
    distance = [abs(a - Fraction(wanted)) for a in axis]
    assert float(axis[distance.index(min(distance))]) == start


def test_whole_numbers_match_exactly_at_any_size():
    big = 2**53
    res = _hand([0.0], [big, big + 1, 100])
    assert int(res.sel(epochs=big + 1).epochs) == big + 1
    assert int(res.sel(epochs=2**63, method="nearest").epochs) == big + 1
    assert int(res.sel(epochs=0, method="nearest").epochs) == 100
    with pytest.raises(KeyError, match=f"epochs={big + 2} is not a coordinate"):
        res.sel(epochs=big + 2)


def test_nearest_among_equals_is_the_first_on_the_axis():
    res = _hand([2.0, 1.0, 2.0, 1.0], [0])
    assert res.sel(start=[1.9, 1.1, 1.5], method="nearest").starts.tolist() == [2.0, 1.0, 2.0]
    np.testing.assert_array_equal(
        res.sel(start=[1.9, 1.1, 1.5], method="nearest").final[:, 0, 0], [0, 1, 0]
    )


@pytest.mark.parametrize("dtype", [np.uint64, np.uint32])
def test_unsigned_positions_off_the_axis_raise_without_wrapping(res, dtype):
    big = np.iinfo(dtype).max
    with pytest.raises(IndexError, match=f"position {big} is off axis 'start'"):
        res.isel(start=np.array([big], dtype))
    assert res.isel(start=np.array([2, 0], dtype)).starts.tolist() == [3.0, 0.5]


def test_a_range_is_a_sequence_of_positions(res):
    assert_same(res.isel(epochs=range(0, 3, 2)), res.isel(epochs=[0, 2]))
    assert_same(res.isel(start=range(2, -1, -1)), res.isel(start=[2, 1, 0]))
    assert res.isel(start=range(0)).final.shape[0] == 0
    with pytest.raises(IndexError, match="position 3 is off axis 'start'"):
        res.isel(start=range(4))


@pytest.mark.parametrize("backend", [np.asarray, jnp.asarray])
@pytest.mark.parametrize("how", ["isel", "sel"])
def test_a_hand_made_result_whose_shapes_disagree_cannot_be_selected(backend, how):
    res = jax.tree.map(backend, _hand([0.0, 1.0, 2.0, 3.0, 4.0], [0, 10], n_starts=4))
    pick = {"isel": lambda: res.isel(start=4), "sel": lambda: res.sel(start=4.0)}[how]
    with pytest.raises(ValueError, match=r"the 'start' coordinate has shape \(5,\)"):
        pick()
    good = _hand([0.0, 1.0], [0, 10])
    short = dataclasses.replace(good, value=good.value[:1])
    with pytest.raises(ValueError, match=r"value has shape \(1, 1, 2\)"):
        short.isel(epochs=0)


def test_non_finite_coordinates_cannot_be_selected_by_value():
    res = _hand([0.0, np.nan, 2.0], [0])
    with pytest.raises(ValueError, match="'start' coordinate holds non-finite values"):
        res.sel(start=5.0, method="nearest")
    assert float(res.isel(start=2).starts) == 2.0


def test_results_compare_by_identity_and_hash():
    a = _hand([0.0], [0])
    b = _hand([0.0], [0])
    assert a == a and a != b and a in [a] and b not in [a]
    assert len({a, b, a}) == 2


# -- odd and extreme queries -------------------------------------------------------------
@pytest.mark.parametrize("step", [4, 2**62, 2**63 - 1, 2**63, 2**100, -(2**63), -(2**100)])
def test_a_slice_step_past_the_axis_takes_one_element_at_most(res, step):
    # JAX aborted the process on a step of 2**63 - 1 and failed past it; NumPy takes one.
    got = res.isel(start=slice(None, None, step))
    want = res.to_numpy().starts[:: (1 if step > 0 else -1) * 3]
    np.testing.assert_array_equal(np.asarray(got.starts), want)
    assert_same(got, res.to_numpy().isel(start=[0] if step > 0 else [2]))


@pytest.mark.parametrize("index", [range(2**70), range(-(2**70), 0), range(0, 2**80, 2**60)])
def test_a_range_longer_than_the_axis_is_off_it(res, index):
    with pytest.raises(IndexError, match="off axis 'start' of length 3"):
        res.isel(start=index)


def test_a_range_as_long_as_the_axis_both_signs_counted_selects(res):
    assert_same(res.isel(start=range(-3, 3)), res.isel(start=[0, 1, 2, 0, 1, 2]))


@pytest.mark.parametrize(
    "query",
    [[True, 2.0], [2.0, np.True_], (0.5, True), np.array([True]), [np.array(True), 0.5]],
    ids=repr,
)
def test_a_bool_among_coordinate_values_is_refused(res, query):
    # [True, 2.0] once selected the coordinates 1.0 and 2.0.
    with pytest.raises(TypeError, match="a bool is not a coordinate value"):
        res.sel(start=query, method="nearest")


def _points(starts):
    starts = np.asarray(starts, np.float32)
    final = np.arange(starts.size, dtype=np.float32).reshape(len(starts), 1, 1, -1)
    return SweepResult(
        final,
        final.sum(-1),
        np.zeros(final.shape[:3], bool),
        starts=starts,
        learning_rates=np.array([0.1], np.float32),
        epochs=np.array([10]),
        dims=("start", "learning_rate", "epochs", "coord"),
        coords={"coord": np.arange(starts.shape[1])},
    )


def test_points_select_by_value_and_refuse_bools_and_non_finite_starts():
    pts = _points([[0.0, 0.0], [1.0, 1.0]])
    assert pts.sel(start=[0.9, 0.9], method="nearest").starts.tolist() == [1.0, 1.0]
    with pytest.raises(TypeError, match="a bool is not a coordinate value"):
        pts.sel(start=[True, 0.0], method="nearest")
    # A NaN start is nearest to nothing: argmin once picked it for (0.9, 0.9).
    nan = _points([[0.0, 0.0], [np.nan, 0.0], [1.0, 1.0]])
    for method in ("exact", "nearest"):
        with pytest.raises(ValueError, match="starts hold non-finite values"):
            nan.sel(start=[1.0, 1.0], method=method)


def test_points_far_off_or_close_together_are_told_apart():
    # Squared distances overflowed to inf for a far query (every start tied: the first won)
    # and underflowed to 0 for tiny offsets (a start that is there was "not a start").
    def points64(starts):
        starts = np.array(starts)
        return dataclasses.replace(_points(np.zeros_like(starts)), starts=starts)

    far = points64([[0.0, 0.0], [1e190, 0.0]])
    assert far.sel(start=[1e200, 0.0], method="nearest").starts.tolist() == [1e190, 0.0]
    assert far.sel(start=[-1e200, 5.0], method="nearest").starts.tolist() == [0.0, 0.0]
    pts = points64([[0.0, 0.0], [1e-200, 0.0], [3e-170, 1e-170]])
    assert pts.sel(start=[1e-200, 0.0]).starts.tolist() == [1e-200, 0.0]
    assert pts.sel(start=[[2.9e-170, 1e-170]], method="nearest").starts.tolist() == [
        [3e-170, 1e-170]
    ]


def test_each_value_of_a_list_matches_within_a_step_of_its_own_float_type():
    res = _hand([0.1, 0.3], [0])
    res = dataclasses.replace(res, starts=np.array([0.1, 0.3]))  # a float64 axis
    # A float32 0.1 is 0.1 to its precision; 0.30000001 typed as a Python float is no 0.3,
    # whichever comes first in the list.
    for query in ([np.float32(0.1), 0.30000001], [0.30000001, np.float32(0.1)]):
        with pytest.raises(KeyError, match=r"start=0\.30000001 is not a coordinate"):
            res.sel(start=query)
    for query in ([0.3, np.float32(0.1)], [np.float32(0.1), 0.3], (jnp.float32(0.3), 0.1)):
        assert sorted(res.sel(start=query).starts.tolist()) == [0.1, 0.3]
    pts = _points([[0.1, 0.3], [0.5, 0.7]])
    pts = dataclasses.replace(pts, starts=np.array([[0.1, 0.3], [0.5, 0.7]]))
    got = pts.sel(start=[[0.5, np.float32(0.7)], np.float32([0.1, 0.3])])
    assert got.starts.tolist() == [[0.5, 0.7], [0.1, 0.3]]
    with pytest.raises(KeyError, match=r"start=\[0.5, 0.70000001\] is not a start"):
        pts.sel(start=[np.float32([0.1, 0.3]), [np.float32(0.5), 0.70000001]])


def test_whole_numbers_past_int64_and_other_float_types_are_real_numbers(res):
    with pytest.raises(KeyError, match="epochs=18446744073709551616 is not a coordinate"):
        res.sel(epochs=2**64)
    assert int(res.sel(epochs=2**64, method="nearest").epochs) == 100
    assert float(res.sel(start=10**400, method="nearest").starts) == 3.0
    assert float(res.sel(start=-(10**400), method="nearest").starts) == 0.5
    assert float(res.sel(start=jnp.bfloat16(2.0)).starts) == 2.0
    with pytest.raises(KeyError):
        res.sel(start=10**400)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -np.inf, np.float64("nan")])
@pytest.mark.parametrize("dim", ["start", "epochs"])
def test_a_non_finite_value_beside_a_whole_number_past_int64_is_refused(res, bad, dim):
    # Such a list is an object array, where NaN and inf had passed as the axis's far ends.
    for method in ("exact", "nearest"):
        with pytest.raises(ValueError, match=f"coordinate values must be finite; got {bad}"):
            res.sel({dim: [2**70, bad]}, method=method)
    pts = _points([[0.1, 0.2], [-3.0, -7.0]])
    with pytest.raises(ValueError, match="coordinate values must be finite"):
        pts.sel(start=[[2**70, 0.0], [bad, 1.0]], method="nearest")


@pytest.mark.parametrize("other", ["a", None, 1j, [1]])
def test_a_non_number_beside_a_whole_number_past_int64_is_refused(res, other):
    for dim in ("start", "epochs"):
        with pytest.raises((TypeError, ValueError), match=rf"sel\({dim}=\.\.\.\): values"):
            res.sel({dim: [2**70, other]}, method="nearest")
    mixed = res.sel(epochs=[2**70, 0.4, np.float32(9.0)], method="nearest")
    assert mixed.epochs.tolist() == [100, 0, 10]


def test_method_outside_its_values_points_to_the_dict_form_for_an_axis_named_method():
    import optax

    r = jaxgd.sweep(
        jnp.cos, 1.0, 0.1, 10, optimizer=optax.sgd, hyperparams={"momentum": [0.0, 0.5]}
    )
    with pytest.raises(ValueError, match=r"method must be 'exact' or 'nearest'; got 0\.5\.$"):
        r.sel(method=0.5)
    renamed = dataclasses.replace(
        r,
        dims=tuple("method" if d == "momentum" else d for d in r.dims),
        coords={"method": r.coords["momentum"]},
    )
    with pytest.raises(ValueError, match=r"pass a dict: sel\(\{'method': 0.5\}\)"):
        renamed.sel(method=0.5)
    assert renamed.sel({"method": 0.5}).dims == ("start", "learning_rate", "epochs")


def test_a_hand_made_result_with_list_coordinates_selects_as_with_arrays():
    shape = (2, 3, 1, 3)
    kw = dict(final=np.arange(18.0).reshape(shape), value=np.zeros(shape))
    kw.update(diverged=np.zeros(shape, bool), dims=("b1", *DIMS))
    lists = SweepResult(
        **kw,
        starts=[0.5, 3.0, 2.0],
        learning_rates=[0.1],
        epochs=[0, 10, 100],
        coords={"b1": [0.8, 0.9]},
    )
    same = SweepResult(
        **kw,
        starts=np.array([0.5, 3.0, 2.0]),
        learning_rates=np.array([0.1]),
        epochs=np.array([0, 10, 100]),
        coords={"b1": np.array([0.8, 0.9])},
    )
    for pick in (
        lambda r: r.isel(start=[2, 0], epochs=np.array([1]), b1=slice(None, None, -1)),
        lambda r: r.isel(b1=1, start=-1),
        lambda r: r.sel(b1=[0.9], start=[3.0, 0.5], epochs=10),
    ):
        got, want = pick(lists), pick(same)
        assert_same(got, want)
        np.testing.assert_array_equal(np.asarray(got.coords["b1"]), want.coords["b1"])
        assert repr(got) == repr(want)
    assert "at b1=0.9, start=2" in repr(lists.isel(b1=1, start=-1))


def test_a_hand_made_result_with_list_coordinates_selects_inside_jit():
    # Passed into jax.jit, a list coordinate flattens into one traced number per entry,
    # which NumPy cannot read: isel failed inside NumPy before it selected anything.
    shape = (3, 4, 2)
    lists = SweepResult(
        np.arange(24.0).reshape(shape),
        np.zeros(shape),
        np.zeros(shape, bool),
        starts=[0.0, 1.0, 2.0],
        learning_rates=[0.125, 0.25, 0.5, 1.0],  # the same in float32, as jit makes them
        epochs=[0, 7],
    )
    same = jax.tree.map(
        np.asarray,
        dataclasses.replace(
            lists,
            starts=np.array(lists.starts),
            learning_rates=np.array(lists.learning_rates),
            epochs=np.array(lists.epochs),
        ),
    )
    for pick in (
        lambda r: r.isel(start=0),
        lambda r: r.isel(learning_rate=[1, 2], epochs=-1),
        lambda r: r.isel(epochs=slice(1, None)).squeeze(),
    ):
        got = jax.jit(pick)(lists)
        assert_same(jax.tree.map(np.asarray, got), pick(same))
    bad = dataclasses.replace(lists, starts=[0.0, 1.0])
    with pytest.raises(ValueError, match=r"the 'start' coordinate has shape \(2,\)"):
        jax.jit(lambda r: r.isel(start=0))(bad)


def test_a_hand_made_coordinate_that_is_no_axis_is_refused_naming_it():
    good = _hand([0.5, 3.0], [0, 10])
    with pytest.raises(ValueError, match=r"the 'start' coordinate has shape \(\)"):
        dataclasses.replace(good, starts=0.5).isel(start=0)
    with pytest.raises(ValueError, match="the 'epochs' coordinate is a ragged list"):
        dataclasses.replace(good, epochs=[0, [1, 2]]).isel(start=0)


@pytest.mark.parametrize(
    ("how", "query"),
    [
        ("isel", [0] * 10**4 + [[0]]),
        ("isel", [0] * 10**4 + ["a"]),
        ("sel", [True] + [0.5] * 10**4),
        ("sel", [0.5] * 10**4 + ["a"]),
        ("sel", ["x" * 10**5]),
    ],
    ids=["nested", "text", "bool", "text value", "long text"],
)
def test_an_error_about_a_long_list_is_one_short_line(res, how, query):
    # The message quotes the list cut short, not all of it: one line a reader can take in.
    with pytest.raises((TypeError, ValueError)) as info:
        getattr(res, how)(start=query)
    message = str(info.value)
    assert message.startswith(f"{how}(start=...): ") and "\n" not in message
    assert len(message) < 400, message
