"""The axes of a sweep besides start, rate and epochs: checked, and turned into lanes and dims.

``jaxgd.sweep`` and ``jaxgd.descend`` take ``optimizer``, ``hyperparams``, ``schedule`` and
``params``; this module checks each (every error names the argument and the fix, before
anything compiles), builds the static :class:`~jaxgd._rule.Rule` of each optimiser, the lane
axes of :mod:`jaxgd._run`, and the names and coordinates of the result's dimensions.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import keyword
import math
import re
import threading
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxgd._rule import Optimizer, Rule, Schedule, takes_keyword, takes_positional
from jaxgd._validate import (
    _describe,
    _first_line,
    _read,
    _wanted,
    as_float_axis,
    as_float_scalar,
    is_concrete,
    refuse_bools,
    trace_settings,
)

__all__ = ["RESERVED", "Axes", "prepare"]

#: Names of the dimensions jaxgd itself gives; hyperparameter keys must differ from them.
RESERVED = ("start", "learning_rate", "epochs", "optimizer", "param", "coord")

_OPTIMIZER_HELP = (
    "An optimizer is a callable learning_rate -> optax.GradientTransformation, e.g. "
    "optax.adam or functools.partial(optax.sgd, momentum=0.9); jaxgd.sweep also takes a "
    "dict of them by name."
)


_SCHEDULE_HELP = (
    "A schedule is a callable rate -> optax schedule, e.g. "
    "lambda rate: optax.exponential_decay(rate, transition_steps=100, decay_rate=0.5)."
)


def optimizer_name(factory: Callable) -> str:
    """A short readable name: ``adam``, ``sgd(momentum=0.9)``."""
    if isinstance(factory, functools.partial):
        inner = optimizer_name(factory.func)
        args = [repr(a) for a in factory.args]
        args += [f"{k}={v!r}" for k, v in factory.keywords.items()]
        return f"{inner}({', '.join(args)})"
    return getattr(factory, "__name__", None) or type(factory).__name__


@dataclasses.dataclass(frozen=True)
class Axes:
    """What the extra axes of one sweep make of it.

    Attributes:
        rules: one lane rule per optimiser (one, for plain descent or a single optimiser).
        optimizers: the names for ``SweepResult.optimizers``: () for plain descent.
        optimizer_dim: whether the result has an "optimizer" dimension.
        hyper: hyperparameter values by key, 1-D arrays in the default float.
        theta: None, or the parameters of f, a pytree whose leaves share a leading axis.
        param_coord: the coordinate of the "param" dimension (values or indices), or None.
        schedule: the schedule's name, or "".
        point: the shape of one position: () or (d,).
    """

    rules: tuple[Rule, ...]
    optimizers: tuple[str, ...]
    optimizer_dim: bool
    hyper: dict[str, Any]
    theta: Any
    param_coord: Any
    schedule: str
    point: tuple[int, ...]

    @property
    def lane_sizes(self) -> tuple[int, ...]:
        """Sizes of the lane axes before start and rate: hyperparameters, then param."""
        sizes = [int(v.shape[0]) for v in self.hyper.values()]
        if self.theta is not None:
            sizes.append(int(jax.tree.leaves(self.theta)[0].shape[0]))
        return tuple(sizes)

    def lane_axes(self, starts: Any, learning_rates: Any) -> dict:
        # A tuple, not a dict: jit hands dicts back with their keys sorted, and the lanes must
        # enumerate the hyperparameters in the order of the result's dims (the rules' keys).
        return {
            "hp": tuple(self.hyper.values()),
            "theta": self.theta,
            "x": starts,
            "lr": learning_rates,
        }

    def dims(self) -> tuple[str, ...]:
        dims = ["optimizer"] if self.optimizer_dim else []
        dims += list(self.hyper)
        if self.theta is not None:
            dims.append("param")
        dims += ["start", "learning_rate", "epochs"]
        if self.point:
            dims.append("coord")
        return tuple(dims)

    def coords(self, xp: Any = np) -> dict[str, Any]:
        coords = dict(self.hyper)
        if self.theta is not None:
            coords["param"] = self.param_coord
        if self.point:
            coords["coord"] = xp.arange(self.point[0])
        return coords

    @property
    def plain(self) -> bool:
        """Plain 1-D descent without extra axes: the result of today's ``sweep``."""
        return (
            not self.optimizers
            and not self.hyper
            and self.theta is None
            and not self.schedule
            and not self.point
        )


def _optimizers(optimizer: Any) -> tuple[dict[str, Callable], bool]:
    if optimizer is None:
        return {}, False
    if isinstance(optimizer, Mapping):
        if not optimizer:
            raise ValueError(
                "optimizer is an empty dict; give at least one, e.g. {'adam': optax.adam}, "
                "or None for plain gradient descent."
            )
        for name, factory in optimizer.items():
            if not isinstance(name, str) or not name:
                raise TypeError(
                    f"optimizer's keys name the 'optimizer' dimension and must be non-empty "
                    f"strings; got {name!r}. {_OPTIMIZER_HELP}"
                )
            _check_factory(f"optimizer[{name!r}]", factory)
        return dict(optimizer), True
    _check_factory("optimizer", optimizer)
    return {optimizer_name(optimizer): optimizer}, False


def _check_factory(where: str, factory: Any) -> None:
    import optax

    if isinstance(factory, optax.GradientTransformation):
        raise TypeError(
            f"{where} is an optax.GradientTransformation; pass the function that builds one "
            f"from a learning rate instead (optax.adam, not optax.adam(0.1)), so that the "
            f"learning rate can be an axis. {_OPTIMIZER_HELP}"
        )
    if not callable(factory):
        raise TypeError(
            f"{where} must be callable; got {type(factory).__name__}. {_OPTIMIZER_HELP}"
        )
    _check_hashable(where, Optimizer(factory, where), "optimizer")
    bound = _bound(factory, "learning_rate")
    if bound is not None:
        raise TypeError(
            f"{where} already sets the learning rate ({bound}), so the learning-rate axis "
            f"would set another argument or be ignored. Leave it out of the partial: e.g. "
            f"functools.partial(optax.sgd, momentum=0.9), and pass the rates as "
            f"learning_rates. {_OPTIMIZER_HELP}"
        )
    if takes_keyword(factory, "learning_rate") is False and takes_positional(factory) is False:
        raise TypeError(
            f"{where} cannot be called with a learning rate alone (as {where}(0.1)), which the "
            f"learning-rate axis needs. {_OPTIMIZER_HELP}"
        )


def _check_hashable(where: str, keyed: Optimizer | Schedule, what: str) -> None:
    """Refuse a factory that cannot be hashed: each compiled program is keyed on the
    optimisers and the schedule (``jax.jit`` static arguments), which fails deep inside JAX,
    or in the cache of checks, with no name. ``keyed`` hashes a ``functools.partial`` by its
    contents, and anything else as it is."""
    try:
        hash(keyed)
    except TypeError:
        obj = keyed.factory if isinstance(keyed, Optimizer) else keyed.fn
        arg = "learning_rate" if isinstance(keyed, Optimizer) else "rate"
        raise TypeError(
            f"{where} must be hashable, as jax.jit's static arguments are (jaxgd compiles one "
            f"program per {what}); {type(obj).__name__} objects cannot be hashed (a class "
            "that defines __eq__ without __hash__, such as a dataclass with eq=True, or a "
            "subclass of list or dict). Give it a __hash__ (frozen=True or eq=False for a "
            "dataclass of hashable fields), or pass a function defined once around it, e.g. "
            f"lambda {arg}: obj({arg})."
        ) from None


def _bound(factory: Any, name: str) -> str | None:
    """How a ``functools.partial`` binds its function's argument ``name``, or None.

    ``partial(optax.sgd, 0.1)`` binds the learning rate by position, and the axis's rate
    would then become the next argument (the momentum); ``partial(optax.adam,
    learning_rate=0.5)`` by keyword, which the axis would override, as a swept
    hyperparameter overrides ``partial(optax.sgd, momentum=0.9)``'s momentum.
    """
    if not isinstance(factory, functools.partial):
        return None
    try:
        sig = inspect.signature(factory.func)
        args = sig.bind_partial(*factory.args, **factory.keywords).arguments
    except (TypeError, ValueError):  # no signature, or arguments it would refuse anyway
        return None
    if name not in args:
        return None
    return f"{name}={args[name]!r:.40}"


def _hyperparams(
    hyperparams: Any, factories: dict[str, Callable], dtype: np.dtype, scalar: bool
) -> dict[str, Any]:
    if hyperparams is None:
        return {}
    if not isinstance(hyperparams, Mapping):
        raise TypeError(
            f"hyperparams must be a dict of keyword -> values, e.g. {{'b1': [0.8, 0.9]}}; "
            f"got {type(hyperparams).__name__}."
        )
    if not hyperparams:
        return {}
    if not factories:
        raise ValueError(
            "hyperparams need an optimizer whose keywords they set, e.g. "
            "optimizer=optax.adam, hyperparams={'b1': [0.8, 0.9]}; plain descent has none."
        )
    out = {}
    for key, values in hyperparams.items():
        if not isinstance(key, str) or not key.isidentifier() or keyword.iskeyword(key):
            raise TypeError(
                f"hyperparams keys must be keyword names of the optimizer; got {key!r}."
            )
        if key == "learning_rate":
            raise ValueError(
                "hyperparams cannot set learning_rate: it is the learning_rates axis. Pass the "
                "rates as learning_rates (and a schedule= for a rate that changes with steps)."
            )
        if key in RESERVED:
            raise ValueError(
                f"hyperparams key {key!r} would clash with the dimension of that name; the "
                f"names {list(RESERVED)} are jaxgd's own."
            )
        for name, factory in factories.items():
            bound = _bound(factory, key)
            if bound is not None:
                # The swept values would replace it, under a name that still shows it.
                raise ValueError(
                    f"hyperparams key {key!r}: optimizer {name!r} already sets {bound}, which "
                    f"the swept values would silently replace. Leave {key} out of the "
                    f"partial to sweep it, or drop hyperparams[{key!r}] to keep {bound}."
                )
            if takes_keyword(factory, key) is False:
                raise ValueError(
                    f"hyperparams key {key!r}: optimizer {name!r} has no keyword {key!r}. Use "
                    "a keyword every optimizer of the sweep takes (e.g. b1 for optax.adam, "
                    "momentum for optax.sgd), or sweep the optimizers separately."
                )
        where = f"hyperparams[{key!r}]"
        _refuse_flag(where, key, values, scalar)
        out[key] = (
            as_float_scalar(where, values, dtype) if scalar else as_float_axis(where, values, dtype)
        )
    return out


def _refuse_flag(where: str, key: str, values: Any, scalar: bool) -> None:
    """Refuse a bool hyperparameter (``nesterov=True``) as the flag it is. Hyperparameters
    are traced numbers, and "pass numbers (1 rather than True)" led to a traced 1 that the
    optimiser's Python ``if`` then cannot read: a flag is set in the factory."""
    flags = (
        isinstance(values, bool | np.bool_)
        or (isinstance(values, list | tuple) and values and _all_bools(values))
        or (isinstance(values, np.ndarray | jax.Array) and values.dtype == np.bool_)
    )
    if not flags:
        return
    one = bool(values) if isinstance(values, bool | np.bool_) else True
    fix = f"optimizer=functools.partial(factory, {key}={one})"
    if not scalar:
        fix += (
            f"; to compare both, sweep two optimizers, e.g. optimizer={{'{key}': "
            f"functools.partial(factory, {key}=True), 'plain': factory}}"
        )
    raise TypeError(
        f"{where} is a flag ({values!r:.40}), not a number to sweep: optimizers read flags "
        f"in Python, so they cannot be traced. Set it in the factory instead, e.g. {fix}."
    )


def _all_bools(values: list | tuple) -> bool:
    return all(isinstance(v, bool | np.bool_) for v in values)


def _schedule(schedule: Any) -> str:
    if schedule is None:
        return ""
    if not callable(schedule):
        raise TypeError(
            f"schedule must be a callable rate -> optax schedule, e.g. "
            f"lambda rate: optax.exponential_decay(rate, transition_steps=100, decay_rate=0.5); "
            f"got {type(schedule).__name__}."
        )
    _check_hashable("schedule", Schedule(schedule), "schedule")
    from jaxgd.result import function_name

    return function_name(schedule)


def _params(params: Any, dtype: np.dtype, scalar: bool) -> tuple[Any, Any]:
    """``theta`` as lanes (leading axis P) and the "param" coordinate; or one theta."""
    if params is None:
        return None, None
    if scalar:
        leaves = jax.tree.leaves(params)
        if not leaves:
            raise ValueError("params is empty; pass one theta, the value f(x, theta) takes.")
        # Lists of numbers are one array, as in a sweep's params (one theta here).
        return jax.tree.map(functools.partial(_as_array, scalar=True), _regular(params)), None
    leaves = jax.tree.leaves(params)
    if not leaves:
        raise ValueError(
            "params is empty; pass an array of parameter values (a 1-D array, or a pytree "
            "whose leaves share a leading axis), one per value of the 'param' dimension."
        )
    params = _regular(params)
    if _is_flat(params):
        values = as_float_axis("params", params, dtype)
        return values, values
    theta = jax.tree.map(_as_array, params)
    sizes = {a.shape[0] if a.ndim else None for a in jax.tree.leaves(theta)}
    if None in sizes or len(sizes) != 1:
        shapes = [tuple(a.shape) for a in jax.tree.leaves(theta)]
        raise ValueError(
            f"params' leaves must share a leading axis (one entry per parameter value); got "
            f"shapes {shapes}. Stack the values, e.g. {{'a': jnp.array([...]), 'b': ...}}."
        )
    (n,) = sizes
    if n == 0:
        raise ValueError("params has no values (leading axis of length 0); pass at least one.")
    xp = np if all(is_concrete(a) for a in jax.tree.leaves(theta)) else jnp
    return theta, xp.arange(n)


def _regular(params: Any) -> Any:
    """A list or tuple that NumPy reads as one regular array of numbers (numbers, 0-d arrays,
    nested lists of equal lengths), as that array; anything else as it is (a pytree).

    A list or tuple holding arrays is a pytree, as in JAX: ``(a, b, c)`` of three (P,) arrays
    is P values of a theta with three leaves. NumPy would stack it into three values of a
    P-vector, another family of functions, silently. Only a plain list or tuple: a
    NamedTuple (or another tuple subclass) is a pytree whose fields f reads by name.
    """
    if type(params) not in (list, tuple) or not params:
        return params
    items = _items(params)
    if any(np.ndim(leaf) > 0 for leaf in items):
        return params
    # NumPy reads [1.5, True] as [1.5, 1.0]: a bool beside numbers is refused, as alone.
    refuse_bools("params", params, _wanted("params", whole=False, scalar=False))
    # Numbers gathered inside a caller's jit ([a, 2.0] with a traced a) are the same array
    # as outside it: NumPy cannot hold a tracer, so JAX stacks them.
    traced = any(isinstance(leaf, jax.core.Tracer) for leaf in items)
    try:
        arr = jnp.asarray(params) if traced else np.asarray(params)
    except (TypeError, ValueError):  # ragged, or not numbers: a pytree of its own
        return params
    return arr if arr.dtype.kind in "fiu" else params


def _items(params: list | tuple) -> list:
    """The items of nested lists and tuples (not looking into arrays or other pytrees)."""
    out: list = []
    for item in params:
        out.extend(_items(item) if isinstance(item, list | tuple) else [item])
    return out


def _is_flat(params: Any) -> bool:
    """A 1-D array or a flat list/tuple of numbers: values that are their own coordinate."""
    if isinstance(params, list | tuple):
        # A NamedTuple of numbers is one theta with named fields, not values of an axis.
        plain = type(params) in (list, tuple)
        return plain and all(isinstance(v, int | float | np.number) for v in params)
    if isinstance(params, int | float) and not isinstance(params, bool):
        return True  # one value, as np.float64(0.05) is: an axis of length 1
    shape = getattr(params, "shape", None)
    return shape is not None and len(shape) <= 1


def _as_array(a: Any, scalar: bool = False) -> Any:
    """A leaf of theta as an array of JAX's canonical dtype (float32 unless x64 is on).
    ``scalar``: the leaf of one theta (``descend``), not of an axis of values."""
    if isinstance(a, jax.core.Tracer | jax.Array):
        if np.dtype(a.dtype).kind not in "fiu":  # booleans, complex: refused as NumPy's are
            _read("params", a, whole=False, scalar=scalar)
        return a
    arr = np.asarray(_read("params", a, whole=False, scalar=scalar))
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        bad = arr[~np.isfinite(arr)][0]
        raise ValueError(
            f"params must be finite; a leaf of shape {arr.shape} holds {bad}. Remove NaN/inf "
            "values (np.isfinite can find them)."
        )
    dtype = np.dtype(jax.dtypes.canonicalize_dtype(arr.dtype))
    if dtype == arr.dtype:
        return arr
    # float64 -> float32 overflows to inf, int64 -> int32 wraps around: either a theta other
    # than the one given, silently (the flat values of a sweep are checked as an axis).
    with np.errstate(over="ignore", invalid="ignore"):
        cast = arr.astype(dtype)
    if not np.array_equal(cast.astype(arr.dtype), arr) and (
        dtype.kind != "f" or not np.isfinite(cast).all()
    ):
        big = np.finfo(dtype).max if dtype.kind == "f" else np.iinfo(dtype).max
        raise ValueError(
            f"params has values too large for {dtype} (max {big:.3g}), the dtype JAX gives a "
            f"leaf of {arr.dtype}; a leaf of shape {arr.shape} holds "
            f"{arr.flat[np.argmax(np.abs(arr.astype(np.float64)))].item()!r:.30}. Use smaller "
            "values, or enable x64 "
            '(jax.config.update("jax_enable_x64", True)).'
        )
    return cast


def prepare(
    *,
    f: Callable,
    fast: bool,
    optimizer: Any,
    hyperparams: Any,
    schedule: Any,
    params: Any,
    point: tuple[int, ...],
    dtype: np.dtype,
    scalar: bool = False,
) -> Axes:
    """Check the extra axes and build the rules. ``scalar``: for ``descend`` (one of each)."""
    if optimizer is None and hyperparams is None and schedule is None and params is None:
        # Plain descent, the common case: nothing to check (a small sweep takes ~1 ms).
        return Axes((Rule(f, fast),), (), False, {}, None, None, "", tuple(point))
    factories, optimizer_dim = _optimizers(optimizer)
    hyper = _hyperparams(hyperparams, factories, dtype, scalar)
    schedule_name = _schedule(schedule)
    keyed = None if schedule is None else Schedule(schedule)  # equal partials compile once
    theta, param_coord = _params(params, dtype, scalar)
    keys = tuple(hyper)
    if factories:
        rules = tuple(
            Rule(f, fast, Optimizer(fac, name), keys, keyed, theta is not None)
            for name, fac in factories.items()
        )
    elif schedule is not None:
        # optax.sgd is plain descent; it evaluates the schedule as optax's own loop does.
        import optax

        sgd = Optimizer(optax.sgd, "sgd")
        rules = (Rule(f, fast, sgd, (), keyed, theta is not None),)
    else:
        rules = (Rule(f, fast, None, (), None, theta is not None),)
    return Axes(
        rules=rules,
        optimizers=tuple(factories),
        optimizer_dim=optimizer_dim,
        hyper=hyper,
        theta=theta,
        param_coord=param_coord,
        schedule=schedule_name,
        point=tuple(point),
    )


def theta_spec(axes: Axes, scalar: bool = False) -> Any:
    """One theta as ``jax.ShapeDtypeStruct`` leaves (for checking f), or None."""
    if axes.theta is None:
        return None
    if scalar:
        return jax.tree.map(lambda a: jax.ShapeDtypeStruct(np.shape(a), a.dtype), axes.theta)
    return jax.tree.map(lambda a: jax.ShapeDtypeStruct(a.shape[1:], a.dtype), axes.theta)


def _step_specs(axes: Axes, dtype: np.dtype) -> tuple[Any, ...]:
    """What a rule's step is traced on, as a hashable key: the rules, the position's shape and
    dtype, the hyperparameters' count and theta's leaves and structure, and the JAX settings
    that decide whether tracing it fails (as ``jax.jit`` keys its cache on them): a check
    passed with standard dtype promotion says nothing of a call under
    ``jax.numpy_dtype_promotion("strict")``, where optax's int32 step count fails."""
    leaves, tree = jax.tree.flatten(theta_spec(axes))
    return (
        axes.rules,
        axes.point,
        np.dtype(dtype),
        len(axes.hyper),
        tuple(leaves),
        tree,
        trace_settings(),
    )


def _specs(key: tuple[Any, ...]) -> tuple[Any, dict]:
    """The abstract position and constants of :func:`_step_specs`'s key."""
    _, point, dtype, n_hyper, leaves, tree, _ = key
    c = {
        "lr": jax.ShapeDtypeStruct((), dtype),
        "hp": tuple(jax.ShapeDtypeStruct((), dtype) for _ in range(n_hyper)),
        "theta": jax.tree.unflatten(tree, leaves),
    }
    return jax.ShapeDtypeStruct(point, dtype), c


#: Keys of :func:`_step_specs` whose rules passed :func:`check_rules`: a sweep called again
#: with the same optimisers (new values of the same shapes) skips tracing their first step,
#: about 2 ms a call. Bounded: the rules hold the user's functions.
_CHECKED: dict[tuple[Any, ...], None] = {}
_CHECKED_MAX = 64
_CHECKED_LOCK = threading.Lock()


def check_rules(axes: Axes, dtype: np.dtype) -> None:
    """Trace each rule's first step once, abstractly: a bad optimiser, hyperparameter or
    schedule is reported here, naming it, before anything compiles."""
    if all(rule.optimizer is None and rule.schedule is None for rule in axes.rules):
        return  # plain descent: nothing beyond f, which check_function traced
    key = _step_specs(axes, dtype)
    if key in _CHECKED:
        return
    _check_rules(axes, dtype, *_specs(key))
    with _CHECKED_LOCK:  # two threads evicting at once: one would find the oldest gone
        if len(_CHECKED) >= _CHECKED_MAX:
            _CHECKED.pop(next(iter(_CHECKED)))
        _CHECKED[key] = None


def _lowered_shapes(fun: Callable, *args: Any) -> Any:
    """``fun``'s outputs as ``jax.ShapeDtypeStruct``s, as ``jax.eval_shape`` gives them, but
    from lowering it (no XLA compile): some values are refused only then, after tracing has
    passed, as a traced float seed of ``jax.random.key`` (``optax.noisy_sgd``'s ``seed``).
    Not logged as a compile under ``jax.log_compiles()``: nothing is compiled."""
    with jax.log_compiles(False):
        return jax.jit(fun).lower(*args).out_info


def _check_rules(axes: Axes, dtype: np.dtype, x: Any, c: dict) -> None:
    for rule, name in zip(axes.rules, axes.optimizers or ("",), strict=True):
        if rule.optimizer is None and rule.schedule is None:
            continue

        def first_step(x, c, rule=rule):
            s = rule.init(x, c)
            return rule.update(jnp.zeros((), jnp.int32), x, s, c, x)

        try:
            # Lowered where hyperparameters are swept (a traced seed fails only there), traced
            # alone otherwise: lowering costs ~7 ms more, on each new optimiser's first call.
            out = (_lowered_shapes if rule.hyper else jax.eval_shape)(first_step, x, c)
        except Exception as e:
            key = _untraceable_hyperparameter(rule, x, c, axes.hyper)
            if key is not None:
                raise TypeError(
                    f"hyperparams[{key!r}] cannot be swept with optimizer {name!r}: it takes "
                    f"{key} as a Python value (a flag, a dtype, a count or a seed), and a swept "
                    "value is traced, one per lane. Give it one value in the factory instead, e.g. "
                    f"functools.partial(factory, {key}=...), and sweep numeric "
                    "hyperparameters (b1, momentum, decay, ...)."
                ) from e
            extra = _missing_keywords(e) if axes.optimizers else None
            if extra is not None:
                raise TypeError(
                    f"optimizer {name!r} needs extra arguments in its update "
                    f"({', '.join(extra)}: {_first_line(e)}), which jaxgd's step does not "
                    "pass: each step calls update(grads, state, params) with the gradient of f "
                    "alone. Sweep an optimiser whose update needs nothing more (optax.adam, "
                    "optax.sgd, optax.rmsprop, ...), or step this one in a loop of your own "
                    f"that passes {', '.join(extra)} to its update."
                ) from e
            blame = _schedule_to_blame(rule, x, c)
            if blame == "traced rate":
                raise TypeError(
                    "schedule cannot take the rate as a traced value: "
                    f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''} "
                    "The rate reaches it traced (one compiled program serves every rate), so "
                    "the schedule may not branch on it in Python (as "
                    "optax.warmup_cosine_decay_schedule compares its peak_value to 0). Build "
                    "the schedule for a rate of 1 and scale it, e.g. lambda rate: lambda "
                    "step: rate * optax.warmup_cosine_decay_schedule(0.0, 1.0, 100, "
                    "1000)(step)."
                ) from e
            what = f"optimizer {name!r}" if axes.optimizers and not blame else "schedule"
            if axes.optimizers and rule.schedule is not None and not blame:
                what += " with the schedule"
            help_ = _OPTIMIZER_HELP if axes.optimizers and not blame else _SCHEDULE_HELP
            raise TypeError(
                f"{what} failed on a position of shape {axes.point or '()'} and {dtype}: "
                f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''} "
                f"{help_}".rstrip()
            ) from e
        new_x = out[0]
        if new_x.shape != x.shape:
            what = f"optimizer {name!r}" if axes.optimizers else "the schedule"
            raise TypeError(
                f"{what} changed the position's shape from {x.shape} to {new_x.shape}; "
                "its updates must be shaped like the parameters (a schedule must return one "
                "rate per step: a scalar)."
            )


def _missing_keywords(e: BaseException) -> list[str] | None:
    """The keyword arguments a call failed without, when ``e`` is Python's TypeError for
    them: an optax transformation that takes extra arguments in its update (a line search's
    ``value``, ``grad`` and ``value_fn``, ``optax.polyak_sgd``'s ``value``) raises it when it
    is given only ``update(grads, state, params)``."""
    if not isinstance(e, TypeError):
        return None
    found = re.search(r"missing \d+ required keyword-only arguments?: (.+)$", _first_line(e))
    return re.findall(r"'(\w+)'", found.group(1)) if found else None


def _schedule_to_blame(rule: Rule, x: Any, c: dict) -> str:
    """Why a rule with a schedule fails its first step: "traced rate" when the schedule works
    made for a Python rate (it branches on the rate); "schedule" when the optimiser works
    without it; "" when neither is to blame alone (or there is no schedule)."""
    if rule.schedule is None:
        return ""

    def works(probe: Rule) -> bool:
        def step(x, c):
            return probe.update(jnp.zeros((), jnp.int32), x, probe.init(x, c), c, x)

        try:
            with warnings.catch_warnings():  # probes, not the user's run (as below)
                warnings.simplefilter("ignore")
                _lowered_shapes(step, x, c)
        except Exception:
            return False
        return True

    schedule = rule.schedule
    if works(dataclasses.replace(rule, schedule=lambda rate: schedule(1.0))):
        return "traced rate"
    plain = rule.optimizer is None or works(dataclasses.replace(rule, schedule=None))
    return "schedule" if plain else ""


def _untraceable_hyperparameter(
    rule: Rule, x: Any, c: dict, values: Mapping[str, Any]
) -> str | None:
    """The swept hyperparameter that makes the first step fail: optax may branch on it
    (nesterov) or use it as a dtype. First one that fails alone, the others left at the
    factory's own values; else one that fails only beside the others (``optax.sgd`` reads
    nesterov only when momentum is set): the one that, given one of its own ``values`` as a
    Python number, lets the others be traced. None when none is to blame (the optimiser
    fails without any)."""
    if not rule.hyper:
        return None
    spec = jax.ShapeDtypeStruct((), c["lr"].dtype)

    def fails(keys: tuple[str, ...], fixed: dict | None = None) -> bool:
        alone = dataclasses.replace(rule, hyper=keys)
        if fixed:
            assert rule.optimizer is not None
            factory = functools.partial(rule.optimizer.factory, **fixed)
            alone = dataclasses.replace(alone, optimizer=Optimizer(factory, rule.optimizer.name))

        def step(x, c):
            return alone.update(jnp.zeros((), jnp.int32), x, alone.init(x, c), c, x)

        try:
            # Probes, not the user's run: what they warn of (optax.noisy_sgd without its
            # swept key asks for one) is not shown, nor turned into a failure by a filter.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                _lowered_shapes(step, x, {**c, "hp": tuple(spec for _ in keys)})
        except Exception:
            return True
        return False

    if fails(()):
        return None  # broken without any swept hyperparameter: not theirs to blame
    alone = next((key for key in rule.hyper if fails((key,))), None)
    if alone is not None:
        return alone
    for key in rule.hyper:
        value = values.get(key)
        if value is None or not is_concrete(value):
            continue
        others = tuple(k for k in rule.hyper if k != key)
        if not fails(others, {key: float(np.asarray(value).reshape(-1)[0])}):
            return key
    return None


def state_items(axes: Axes, dtype: np.dtype) -> int:
    """Numbers a lane carries besides its position: state, hyperparameters, theta."""
    return _state_items(_step_specs(axes, dtype))


@functools.lru_cache(maxsize=64)  # the same optimisers again: no tracing of their init
def _state_items(key: tuple[Any, ...]) -> int:
    x, c = _specs(key)
    most = 0
    for rule in key[0]:
        s = jax.eval_shape(rule.init, x, c) if rule.stateful else ()
        most = max(most, sum(math.prod(a.shape) for a in jax.tree.leaves((s, c))))
    return most


def describe(value: Any) -> str:
    return _describe(value)
