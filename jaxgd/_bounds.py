"""Indices that are constants and out of bounds, found in a function's jaxpr before it runs.

JAX clamps an out-of-bounds index instead of raising: ``p[2]`` on a point of R^2 reads
``p[1]``, and ``p[-3]`` reads ``p[0]``. A function written for R^3 and given points of R^2
then runs, silently wrong. Such an index is usually a constant: :func:`constant_index_problem`
folds the constants of a jaxpr with NumPy (integer arithmetic, comparisons, selects, casts
and reshapes, the operations ``jax.numpy`` builds an index from) and checks every
``dynamic_slice``, ``dynamic_update_slice`` and ``gather`` whose start indices it knows.
Indices that depend on the input, and gathers that ask for clipping or filling
(``jnp.take(p, 5, mode="clip")``), are left alone, except the clipping gather ``vmap`` makes
of ``p[i]`` or ``lax.dynamic_slice``: it keeps the slice's axes (collapses none), as no
``jnp.take`` does, and clamps as the unbatched slice would (``vmap(lambda i: p[i])`` over
``jnp.arange(3)`` on a point of R^2 read ``p[1]`` twice). Nothing is compiled.
"""

from __future__ import annotations

from typing import Any

import jax
import numpy as np
from jax import lax
from jax.extend import core as jex_core

__all__ = ["constant_index_problem"]

_BINARY = {
    "add": np.add,
    "sub": np.subtract,
    "mul": np.multiply,
    "max": np.maximum,
    "min": np.minimum,
    "lt": np.less,
    "le": np.less_equal,
    "gt": np.greater,
    "ge": np.greater_equal,
    "eq": np.equal,
    "ne": np.not_equal,
    "and": np.logical_and,
    "or": np.logical_or,
}


def _fold(eqn: Any, vals: list[np.ndarray]) -> np.ndarray | None:
    """The value of ``eqn`` on constant inputs, for the index-building primitives; else None."""
    name, p = eqn.primitive.name, eqn.params
    if name in _BINARY:
        out = _BINARY[name](vals[0], vals[1])
    elif name == "neg":
        out = np.negative(vals[0])
    elif name == "select_n":
        out = np.choose(np.asarray(vals[0], np.int64), vals[1:])
    elif name == "convert_element_type":
        out = vals[0]
    elif name == "broadcast_in_dim":
        shape = [1] * len(p["shape"])
        for dim, n in zip(p["broadcast_dimensions"], np.shape(vals[0]), strict=True):
            shape[dim] = n
        out = np.reshape(vals[0], shape)
    elif name in ("reshape", "squeeze", "expand_dims"):
        out = np.reshape(vals[0], eqn.outvars[0].aval.shape)
    elif name == "concatenate":
        out = np.concatenate([np.atleast_1d(v) for v in vals], axis=p["dimension"])
    elif name == "iota":
        shape, dim = p["shape"], p["dimension"]
        out = np.arange(shape[dim]).reshape([-1 if i == dim else 1 for i in range(len(shape))])
    else:
        return None
    aval = eqn.outvars[0].aval
    try:
        return np.broadcast_to(np.asarray(out), aval.shape).astype(aval.dtype)
    except (ValueError, TypeError):
        return None


def _where(shape: tuple[int, ...], axis: int, index: int) -> str:
    # jax.numpy has wrapped a negative index once (i + n): show the index as written.
    index = index - shape[axis] if index < 0 else index
    if len(shape) == 1:
        return f"it reads index {index} of an array of length {shape[0]}"
    return f"it reads index {index} on axis {axis} of an array of shape {tuple(shape)}"


def _slice_problem(shape: tuple[int, ...], starts: list[int], sizes: tuple[int, ...]) -> str:
    for axis, (n, start, size) in enumerate(zip(shape, starts, sizes, strict=False)):
        if start < 0 or start + size > n:
            return _where(shape, axis, start)
    return ""


def _gather_problem(eqn: Any, operand_shape: tuple[int, ...], idx: np.ndarray) -> str:
    dn = eqn.params["dimension_numbers"]
    mode = eqn.params.get("mode")
    # Checked: an index promised in bounds, and a clip that batches a slice (vmap of p[i],
    # dynamic_slice: it collapses no axis), which nothing in the function asked to clip.
    # Left alone: a fill, or a clip of jnp.take(..., mode="clip"): the function asked for it.
    checked = {None, lax.GatherScatterMode.PROMISE_IN_BOUNDS}
    if hasattr(lax.GatherScatterMode, "ONE_HOT"):
        checked.add(lax.GatherScatterMode.ONE_HOT)
    if not dn.collapsed_slice_dims:
        checked.add(lax.GatherScatterMode.CLIP)
    if mode not in checked:
        return ""
    if getattr(dn, "operand_batching_dims", ()):
        return ""
    sizes = eqn.params["slice_sizes"]
    idx = np.asarray(idx).reshape(-1, idx.shape[-1]) if idx.ndim else idx.reshape(1, 1)
    for k, axis in enumerate(dn.start_index_map):
        n, size = operand_shape[axis], sizes[axis]
        bad = (idx[:, k] < 0) | (idx[:, k] + size > n)
        if bad.any():
            return _where(operand_shape, axis, int(idx[:, k][bad][0]))
    return ""


def _walk(jaxpr: Any, known: dict) -> str:
    def value(v: Any) -> np.ndarray | None:
        if isinstance(v, jex_core.Literal):
            return np.asarray(v.val)
        return known.get(v)

    for eqn in jaxpr.eqns:
        vals = [value(v) for v in eqn.invars]
        name = eqn.primitive.name
        if name in ("dynamic_slice", "dynamic_update_slice"):
            first = 1 if name == "dynamic_slice" else 2
            starts = vals[first:]
            operand = eqn.invars[0]
            if vals[0] is None and starts and all(s is not None for s in starts):
                sizes = (
                    eqn.params["slice_sizes"]
                    if name == "dynamic_slice"
                    else tuple(eqn.invars[1].aval.shape)
                )
                problem = _slice_problem(tuple(operand.aval.shape), [int(s) for s in starts], sizes)
                if problem:
                    return problem
        elif name == "gather" and vals[0] is None and vals[1] is not None:
            problem = _gather_problem(eqn, tuple(eqn.invars[0].aval.shape), vals[1])
            if problem:
                return problem
        elif all(v is not None for v in vals) and len(eqn.outvars) == 1:
            out = _fold(eqn, vals)
            if out is not None:
                known[eqn.outvars[0]] = out
                continue
        # Bodies that are jaxprs (jit inside f, custom derivatives, cond's branches, loops):
        # walk each with what is known of its inputs.
        for sub, inputs in _bodies(eqn, vals):
            inner = sub.jaxpr if hasattr(sub, "jaxpr") else sub
            if len(inner.invars) != len(inputs):
                continue
            sub_known = {
                iv: val for iv, val in zip(inner.invars, inputs, strict=True) if val is not None
            }
            consts = getattr(sub, "consts", ())
            for cv, c in zip(inner.constvars, consts, strict=False):
                sub_known[cv] = np.asarray(c)
            problem = _walk(inner, sub_known)
            if problem:
                return problem
    return ""


#: Primitives that call a jaxpr once with their operands (not loops, whose inputs change).
_CALLS = frozenset(
    {
        "pjit",
        "jit",
        "closed_call",
        "core_call",
        "custom_jvp_call",
        "custom_vjp_call",
        "custom_vjp_call_jaxpr",
        "checkpoint",
        "remat",
        "remat2",
    }
)
#: Loops: their bodies run with inputs that change from pass to pass, so only what is constant
#: inside a body (a literal index) is known there.
_LOOPS = {"while": ("cond_jaxpr", "body_jaxpr"), "scan": ("jaxpr",)}


def _is_jaxpr(s: Any) -> bool:
    return s is not None and (hasattr(s, "eqns") or hasattr(s, "jaxpr"))


def _bodies(eqn: Any, vals: list) -> list[tuple[Any, list]]:
    """The jaxprs inside ``eqn``, each with what is known of its inputs."""
    name = eqn.primitive.name
    if name in _CALLS:  # called once, with the operands as arguments
        subs = (eqn.params.get(key) for key in ("jaxpr", "call_jaxpr", "fun_jaxpr"))
        return [(s, vals) for s in subs if _is_jaxpr(s)]
    if name == "cond":  # every branch takes the operands after the branch index
        return [(b, vals[1:]) for b in eqn.params.get("branches", ()) if _is_jaxpr(b)]
    if name in _LOOPS:
        out = []
        for key in _LOOPS[name]:
            body = eqn.params.get(key)
            if _is_jaxpr(body):
                inner = body.jaxpr if hasattr(body, "jaxpr") else body
                out.append((body, [None] * len(inner.invars)))
        return out
    return []


def constant_index_problem(closed_jaxpr: Any) -> str:
    """What a constant, out-of-bounds index in ``closed_jaxpr`` reads (``""`` when none).

    Example:
        >>> import jax, jax.numpy as jnp
        >>> point = jax.ShapeDtypeStruct((2,), jnp.float32)
        >>> constant_index_problem(jax.make_jaxpr(lambda p: p[0] ** 2 + p[2] ** 2)(point))
        'it reads index 2 of an array of length 2'
        >>> constant_index_problem(jax.make_jaxpr(lambda p: p[0] + p[-1])(point))
        ''
    """
    known = {  # a traced constant (f closing over a value vmap traces) is no known index
        v: np.asarray(c)
        for v, c in zip(closed_jaxpr.jaxpr.constvars, closed_jaxpr.consts, strict=True)
        if not isinstance(c, jax.core.Tracer)
    }
    try:
        return _walk(closed_jaxpr.jaxpr, known)
    except Exception:  # an unforeseen primitive's parameters: the check is a courtesy
        return ""
