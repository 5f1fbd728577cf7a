"""Transcendental functions on XLA:CPU, per element: XLA, NumPy, and jaxgd.fastmath's rewrite.

    python -m benchmarks.transcendentals            # about a minute
    python -m benchmarks.transcendentals --quick    # seconds: checks everything runs

Prints these tables:

1. ns/element for every transcendental primitive, float32 and float64: XLA (``jnp`` under
   ``jit``), NumPy (SciPy for ``erf``/``lgamma``) and ``fastmath.rewrite`` where it has a
   replacement. Methods are timed interleaved (one call of each per round) and the median and
   minimum over rounds are reported, with ratios to XLA: the machine is shared, ratios travel.
2. The bare descent loop: a jitted ``fori_loop`` of ``x <- x - lr * f'(x)`` over 64k lanes on
   the notebook's f, with and without the rewrite, and the rewritten loop compiled with
   ``xla_cpu_prefer_vector_width=512`` (whether the CPU has AVX-512 is printed too).
3. Tracing: ms to trace and lower a sweep's step (``jit`` of ``vmap(vmap(grad f))``) for a new
   ``f``, with and without the rewrite: what every new process pays even when JAX's persistent
   compilation cache spares it the compile. The first rewritten trace in a process also traces
   the sin/cos kernel once (the "first" column).
4. The rewrite's accuracy: max ulp error of ``fastmath.sin``/``cos`` per range of ``|x|``, on
   random floats plus the floats nearest to multiples of pi/2, next to XLA's own (libm) error
   on the same points: float32 against float64 NumPy, float64 against long double.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from jaxgd import fastmath

try:  # erf and lgamma have no NumPy ufunc; SciPy is optional
    import scipy.special as _sps
except ImportError:  # pragma: no cover - depends on the environment
    _sps = None


def f(x):
    return jnp.sin(x) * jnp.exp(-0.05 * x**2)


@dataclass(frozen=True)
class Case:
    """One primitive: its jnp form, its NumPy form (or None), its arity and an input range."""

    name: str
    jnp_fn: Callable
    np_fn: Callable | None
    arity: int = 1
    low: float = -10.0
    high: float = 10.0


def cases() -> list[Case]:
    sps = _sps
    return [
        Case("sin", jnp.sin, np.sin),
        Case("cos", jnp.cos, np.cos),
        Case("tan", jnp.tan, np.tan, low=-1.5, high=1.5),
        Case("exp", jnp.exp, np.exp),
        Case("log", jnp.log, np.log, low=1e-3, high=100.0),
        Case("log1p", jnp.log1p, np.log1p, low=-0.9, high=100.0),
        Case("expm1", jnp.expm1, np.expm1),
        Case("atan2", jnp.arctan2, np.arctan2, arity=2),
        Case("atan", jnp.arctan, np.arctan),
        Case("asin", jnp.arcsin, np.arcsin, low=-1.0, high=1.0),
        Case("acos", jnp.arccos, np.arccos, low=-1.0, high=1.0),
        Case("sinh", jnp.sinh, np.sinh),
        Case("cosh", jnp.cosh, np.cosh),
        Case("tanh", jnp.tanh, np.tanh),
        Case("pow", lax.pow, np.power, arity=2, low=0.1, high=4.0),
        Case("erf", jax.scipy.special.erf, None if sps is None else sps.erf),
        Case("lgamma", jax.scipy.special.gammaln, None if sps is None else sps.gammaln, low=-9.5),
    ]


def _block(out):
    return out.block_until_ready() if hasattr(out, "block_until_ready") else out


def interleaved(methods: dict[str, Callable[[], object]], rounds: int) -> dict[str, list[float]]:
    """Seconds per call for each method; one call of each per round, after one warm-up each."""
    for call in methods.values():
        _block(call())
    times: dict[str, list[float]] = {name: [] for name in methods}
    for _ in range(rounds):
        for name, call in methods.items():
            t0 = time.perf_counter()
            _block(call())
            times[name].append(time.perf_counter() - t0)
    return times


@dataclass(frozen=True)
class Row:
    """Timings of one primitive in one dtype: ns/element (median, min) per method."""

    name: str
    dtype: str
    ns: dict[str, tuple[float, float]]


def bench_elementwise(
    n: int, rounds: int, dtypes=("float32", "float64"), only: set[str] | None = None
) -> list[Row]:
    """Rows for every case (or those named in ``only``) in every dtype."""
    rng = np.random.default_rng(0)
    rows = []
    for dtype in dtypes:
        with jax.enable_x64(dtype == "float64"):
            for case in cases():
                if only is not None and case.name not in only:
                    continue
                args = [
                    rng.uniform(case.low, case.high, n).astype(dtype) for _ in range(case.arity)
                ]
                jargs = [jnp.asarray(a) for a in args]
                xla = jax.jit(case.jnp_fn)
                methods = {"XLA": lambda a=jargs, fn=xla: fn(*a)}
                if case.np_fn is not None:
                    methods["NumPy"] = lambda a=args, fn=case.np_fn: fn(*a)
                if _rewritten(case.jnp_fn, jargs):
                    fast = jax.jit(fastmath.rewrite(case.jnp_fn, enable=True))
                    methods["rewrite"] = lambda a=jargs, fn=fast: fn(*a)
                times = interleaved(methods, rounds)
                ns = {
                    k: (statistics.median(v) / n * 1e9, min(v) / n * 1e9) for k, v in times.items()
                }
                rows.append(Row(case.name, dtype, ns))
    return rows


def _rewritten(fn: Callable, args) -> bool:
    """Whether the rewrite changes fn's jaxpr (it has a replacement for this primitive/dtype)."""
    before = str(jax.make_jaxpr(fn)(*args))
    after = str(jax.make_jaxpr(fastmath.rewrite(fn, enable=True))(*args))
    return before != after


def descent_loop(grad: Callable, x0: jax.Array, lr: jax.Array, steps: int) -> jax.Array:
    """Bare descent: ``steps`` updates of every lane by the batched gradient; records nothing."""
    return lax.fori_loop(0, steps, lambda _, x: x - lr * grad(x), x0)


def bench_descent(lanes: int, steps: int, rounds: int) -> dict[str, tuple[float, float]]:
    """ns per lane-step (median, min) of the bare loop: XLA, rewrite, rewrite at width 512."""
    x0 = jnp.linspace(-2 * np.pi, 2 * np.pi, lanes, dtype=jnp.float32)
    lr = jnp.linspace(1e-3, 0.1, lanes, dtype=jnp.float32)

    def build(fn, options=None):
        jitted = jax.jit(lambda x, r: descent_loop(fn, x, r, steps))
        compiled = jitted.lower(x0, lr).compile(compiler_options=options)
        return lambda: compiled(x0, lr)

    grad = jax.vmap(jax.grad(f))
    # rewrite the differentiated step, as the engine does
    fast = fastmath.rewrite(grad, enable=True)
    methods = {
        "XLA": build(grad),
        "rewrite": build(fast),
        "XLA, vector width 512": build(grad, {"xla_cpu_prefer_vector_width": 512}),
        "rewrite, vector width 512": build(fast, {"xla_cpu_prefer_vector_width": 512}),
    }
    ref, got = methods["XLA"](), methods["rewrite"]()
    # the rewrite changes sin/cos by ~1 ulp: after many steps the lanes must still agree closely
    np.testing.assert_allclose(np.asarray(got), np.asarray(ref), rtol=1e-4, atol=1e-4)
    times = interleaved(methods, rounds)
    per = lanes * steps
    return {k: (statistics.median(v) / per * 1e9, min(v) / per * 1e9) for k, v in times.items()}


def bench_tracing(rounds: int) -> dict[str, tuple[float, float, float]]:
    """ms (first, median, min over ``rounds``) to trace and lower the step for a new f."""
    x = jnp.zeros((2, 64), jnp.float32)

    def lower(fast: bool) -> None:
        grad = jax.grad(lambda x: f(x))  # a new function: nothing is reused from jit's caches
        step = fastmath.rewrite(grad, enable=True) if fast else grad
        jax.jit(jax.vmap(jax.vmap(step))).lower(x)

    lower(False)  # JAX's own one-off set-up is no part of either
    out = {}
    for name, fast in (("XLA", False), ("rewrite", True)):
        times = []
        for _ in range(rounds):
            t = time.perf_counter()
            lower(fast)
            times.append((time.perf_counter() - t) * 1e3)
        out[name] = (times[0], statistics.median(times), min(times))
    return out


def has_avx512() -> bool:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512f" in text.split()


def _ulp_error(y: np.ndarray, ref: np.ndarray) -> np.ndarray:
    mag = np.maximum(np.abs(ref), np.finfo(np.float32).tiny)
    return np.abs(y.astype(np.float64) - ref) / np.exp2(np.floor(np.log2(mag)) - 23)


RANGES = [
    (0.0, np.pi / 4),
    (np.pi / 4, 1e3),
    (1e3, 1e4),
    (1e4, 25735.0),
    (25735.0, 1e5),
    (1e5, 1e6),
    (1e6, 2.0**24),
    (2.0**24, 1e30),
]


RANGES64 = [
    (0.0, np.pi / 4),
    (np.pi / 4, 1e3),
    (1e3, 1.6e6),
    (1.6e6, 1e8),
    (1e8, 1e300),
]


def _ulp_error64(y: np.ndarray, ref: np.ndarray) -> np.ndarray:
    mag = np.maximum(np.abs(ref), np.longdouble(np.finfo(np.float64).tiny))
    return np.abs(y.astype(np.longdouble) - ref) / np.exp2(np.floor(np.log2(mag)) - 52)


def accuracy64(samples: int) -> list[tuple]:
    """As :func:`accuracy`, float64, against long double (empty where that is plain double)."""
    if np.finfo(np.longdouble).nmant < 63:
        return []
    rng = np.random.default_rng(2)
    half_pi = np.longdouble(np.pi) / 2 + np.longdouble(1.2246467991473532e-16) / 2
    out = []
    with jax.enable_x64(True):
        fns = [jax.jit(g) for g in (fastmath.sin, fastmath.cos, jnp.sin, jnp.cos)]
        for low, high in RANGES64:
            x = np.exp(rng.uniform(np.log(max(low, 1e-300)), np.log(high), samples))
            k = np.arange(np.ceil(low / (np.pi / 2)), min(high / (np.pi / 2), 2e5) + 1)
            near = (k.astype(np.longdouble) * half_pi).astype(np.float64)
            near = near[(near >= low) & (near < high)]
            x = np.concatenate([x, near, np.nextafter(near, 0)])
            xl = x.astype(np.longdouble)
            refs = (np.sin(xl), np.cos(xl)) * 2
            ys = [np.asarray(g(x)) for g in fns]
            errs = [_ulp_error64(y, r).max() for y, r in zip(ys, refs, strict=True)]
            errs += [
                np.abs(y.astype(np.longdouble) - r).max()
                for y, r in zip(ys[:2], refs[:2], strict=True)
            ]
            out.append((f"[{low:.4g}, {high:.4g})", *map(float, errs)))
    return out


def accuracy(samples: int) -> list[tuple]:
    """(range, max ulp of fastmath sin, cos, XLA sin, cos, then max absolute error of fastmath
    sin, cos) over random floats and hard cases."""
    rng = np.random.default_rng(1)
    fsin, fcos = jax.jit(fastmath.sin), jax.jit(fastmath.cos)
    xsin, xcos = jax.jit(jnp.sin), jax.jit(jnp.cos)
    out = []
    for low, high in RANGES:
        lo = np.float32(max(low, 1e-30)).view(np.uint32)
        hi = np.float32(high).view(np.uint32)
        x = rng.integers(lo, hi, samples, dtype=np.uint32).view(np.float32)
        k = np.arange(np.ceil(low / (np.pi / 2)), min(high / (np.pi / 2), 2e5) + 1)
        near = (k * (np.pi / 2)).astype(np.float32)
        near = near[(near >= low) & (near < high)]
        x = np.concatenate([x, near, np.nextafter(near, np.float32(0))])
        xd = x.astype(np.float64)
        s_ref, c_ref = np.sin(xd), np.cos(xd)
        pairs = [
            (np.asarray(fn(x)), ref)
            for fn, ref in zip((fsin, fcos, xsin, xcos), (s_ref, c_ref) * 2, strict=True)
        ]
        errs = [_ulp_error(y, ref).max() for y, ref in pairs]
        errs += [np.abs(y - ref).max() for y, ref in pairs[:2]]
        out.append((f"[{low:.4g}, {high:.4g})", *map(float, errs)))
    return out


def _fmt(v: float) -> str:
    return f"{v:.3g}" if 1e-3 <= v < 1e4 else f"{v:.2e}"


def report(rows: list[Row], descent, acc, acc64, avx512: bool, tracing=None) -> str:
    lines = ["## ns per element (median / min over interleaved rounds); ratio = XLA / method", ""]
    lines.append("| primitive | dtype | XLA | NumPy | rewrite | XLA/NumPy | XLA/rewrite |")
    lines.append("|---|---|---|---|---|---|---|")
    for r in rows:
        xla = r.ns["XLA"][0]

        def cell(k, r=r):
            return f"{r.ns[k][0]:.2f} / {r.ns[k][1]:.2f}" if k in r.ns else "-"

        def ratio(k, r=r, xla=xla):
            return f"{xla / r.ns[k][0]:.2f}" if k in r.ns else "-"

        lines.append(
            f"| {r.name} | {r.dtype} | {cell('XLA')} | {cell('NumPy')} | {cell('rewrite')} "
            f"| {ratio('NumPy')} | {ratio('rewrite')} |"
        )
    lines += ["", "## bare descent loop, 64k lanes, float32: ns per lane-step", ""]
    lines.append("| loop | median | min | speed-up vs XLA (median) |")
    lines.append("|---|---|---|---|")
    base = descent["XLA"][0]
    for name, (med, mn) in descent.items():
        lines.append(f"| {name} | {med:.3f} | {mn:.3f} | {base / med:.2f}x |")
    lines.append("")
    lines.append(f"CPU has avx512f: {avx512}")
    if tracing:
        lines += ["", "## tracing and lowering the step of a sweep for a new f, ms", ""]
        lines.append("| step | first | median | min |")
        lines.append("|---|---|---|---|")
        for name, (first, med, mn) in tracing.items():
            lines.append(f"| {name} | {first:.1f} | {med:.1f} | {mn:.1f} |")
    for title, table in (
        ("float32, max ulp error against float64 NumPy", acc),
        ("float64, max ulp error against long double NumPy", acc64),
    ):
        if not table:
            continue
        lines += ["", f"## accuracy, {title}", ""]
        lines.append(
            "| abs(x) in | fastmath.sin | fastmath.cos | XLA sin | XLA cos "
            "| fastmath.sin abs. error | fastmath.cos abs. error |"
        )
        lines.append("|---|---|---|---|---|---|---|")
        for name, *errs in table:
            lines.append(f"| {name} | " + " | ".join(_fmt(e) for e in errs) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: checks it runs")
    args = parser.parse_args(argv)
    n, rounds = (1 << 12, 3) if args.quick else (1 << 20, 15)
    lanes, steps = (1 << 10, 20) if args.quick else (1 << 16, 200)
    samples = 1 << 12 if args.quick else 1 << 21
    print(f"jax {jax.__version__}, backend {jax.default_backend()}", flush=True)
    rows = bench_elementwise(n, rounds)
    descent = bench_descent(lanes, steps, rounds)
    tracing = bench_tracing(rounds)
    acc = accuracy(samples)
    acc64 = accuracy64(samples // 4)
    print(report(rows, descent, acc, acc64, has_avx512(), tracing))


if __name__ == "__main__":
    main()
