"""What the ``python -m experiments.<name>`` modules share: flags, ``--function``, output.

An experiment module builds its parser from :func:`parser`, adds the axes it sweeps with
:func:`add_grid_args`, and turns ``argv`` into a :class:`Context` with :func:`setup`, which
checks every flag, the function and the output paths before anything is computed. The
context holds the loaded function, its domain, the grids as arrays, a seeded PRNG key, and
saves figures. Decorating ``main`` with :func:`command` turns a :class:`UsageError` (a bad
flag or ``--function``) into one line on stderr and exit status 2, Ctrl-C into the line
``interrupted`` and exit status 130, and SIGTERM into ``terminated`` and 143, never a
traceback::

    @cli.command
    def main(argv=None) -> int:
        p = cli.parser("experiments.start_location", __doc__)
        cli.add_grid_args(p, starts=cli.Grid(-5, 5, 50), learning_rate=0.01, epochs=1000)
        ctx = cli.setup(p, argv, figures=["start_location"])
        res = jaxgd.sweep(ctx.f, ctx.starts, ctx.learning_rate, ctx.epochs)
        ctx.save(plotting.plot_final(res), "start_location")
        ctx.save_result(res)
        return ctx.finish()

The pieces live in modules named for them: flag parsing in ``jaxgd._cli_flags``, ``--function``
loading in ``jaxgd._cli_function``, output checks and atomic writes in ``jaxgd._cli_output``;
this module holds the parsed run and the words of the printed report.

``--function`` takes a built-in name from :mod:`jaxgd.functions` or ``module:attr`` naming a
user's own ``f`` (imported with the current directory on ``sys.path``). The attribute may be
a plain function, optionally carrying ``domain = (lo, hi)`` and ``start = x0`` attributes, or a
:class:`jaxgd.functions.Function1D`. Without a domain, the notebook's ``[-2π, 2π]`` is used.

Importing this module does not import matplotlib: :func:`setup` does, to pick the headless
Agg backend unless ``--show`` is given, and saving or showing a figure does. A headless run
makes its figures without pyplot (:func:`jaxgd.plotting.set_headless`), which it never imports.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import functools
import gc
import math
import os
import signal
import sys
import threading
import warnings
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NoReturn

import jax
import numpy as np

from jaxgd import _run, analysis, functions
from jaxgd._chunking import available_host_memory
from jaxgd._cli_flags import (
    _GRID,
    _SINGLE,
    DEFAULT_FUNCTION,
    FORMATS,
    MAX_COLOR_LIMIT,
    MAX_SEED,
    Grid,
    UsageError,
    add_color_args,
    add_grid_args,
    argument_group,
    flag_errors,
    grid,
    in_dtype,
    number,
    parse_run,
    parser,
    seed_key,
    span_in_dtype,
    whole,
)
from jaxgd._cli_function import NOTEBOOK_DOMAIN, load_derivative, load_function
from jaxgd._cli_output import (
    Output,
    begin_run,
    end_run,
    headless_unless_show,
    save_figure,
    unwritten_so_far,
    written_so_far,
)
from jaxgd._validate import as_epochs, as_float_axis, default_float
from jaxgd._words import plural

if TYPE_CHECKING:
    from jaxgd.minima import Minima

__all__ = [
    "DEFAULT_FUNCTION",
    "FORMATS",
    "NOTEBOOK_DOMAIN",
    "Context",
    "Grid",
    "UsageError",
    "add_color_args",
    "add_grid_args",
    "argument_group",
    "check_flags",
    "check_runs",
    "checked",
    "color_limits_line",
    "command",
    "deliver_held_interrupt",
    "flag_errors",
    "headless_unless_show",
    "load_derivative",
    "load_function",
    "num",
    "parse_run",
    "parser",
    "plural",
    "run",
    "save_figure",
    "setup",
    "snap_minima",
    "stretches",
    "whole",
]

#: Host memory one cell of a sweep may take in an experiment: ``final`` and ``value`` in the
#: working dtype, ``diverged``, and the float64 copies and labels the summaries make.
BYTES_PER_CELL = 48
#: Assumed free host memory where the OS does not say.
_UNKNOWN_MEMORY = 4 << 30
#: A map's colours span at most the domain, the start and f's minima, widened by this share
#: of that span on each side (:meth:`Context.map_limits`).
MAP_MARGIN = 0.1


def num(value: Any) -> str:
    """A number as the summaries print it: 6 significant digits.

    Example:
        >>> num(-1.4288700001), num(1e-10), num(500.0), num(-0.0)
        ('-1.42887', '1e-10', '500', '0')
    """
    return f"{float(value) + 0.0:.6g}"  # + 0.0: -0 prints as 0


def snap_minima(f: Callable, minima: Minima, domain: tuple[float, float]) -> Minima:
    """``minima`` of a 1-D ``f`` on the host (NumPy arrays), every location within a few
    float epsilons of 0 at the scale of ``domain`` made exactly 0, with f's value there,
    where it is rounding of 0 or f is no higher at 0 than there.

    The minima searches stop within rounding of a minimum at the origin, as -3.7e-34: the
    summaries print it as ``0`` so that every experiment names the same point alike. On a
    wide domain those epsilons are wide too (5e18 on [-1e25, 1e25] in float32), and a
    minimum at 0.3 is no rounding of 0: beyond 4 epsilons of 0 (the searches' tolerance
    there), a minimum is snapped only where f at 0 is no higher, and 0.3 stays where it is.

    Example:
        >>> from jaxgd.minima import find_minima
        >>> m = snap_minima(lambda x: x**2, find_minima(lambda x: x**2, -3.0, 3.0), (-3.0, 3.0))
        >>> num(m.x[0]), num(m.value[0])
        ('0', '0')
    """
    m = jax.tree_util.tree_map(np.asarray, minima)
    x = np.asarray(m.x)
    scale = max(1.0, *(abs(float(v)) for v in domain))
    snap = np.abs(x) < 4 * np.finfo(x.dtype).eps * scale
    if not snap.any():
        return m
    zero = np.zeros((), x.dtype)
    # Within the searches' own tolerance of 0 (4 epsilons, absolute there): rounding, always
    # 0 (floor(x) + x**2 stops at -3.7e-34, below its jump at 0, where f is higher). Farther
    # out, only where f at 0 is no higher.
    at_zero = np.asarray(_values(f, np.zeros(x.shape, x.dtype)))
    with np.errstate(invalid="ignore"):
        rounding = np.abs(x) < 4 * np.finfo(x.dtype).eps
        snap &= rounding | (at_zero <= np.asarray(m.value))  # NaN at 0: not snapped
    if not snap.any():
        return m
    # An isolated minimum's span is its x; a flat one's still holds the new x.
    lo = np.where(snap, np.minimum(np.where(m.lo == m.x, zero, m.lo), zero), m.lo)
    hi = np.where(snap, np.maximum(np.where(m.hi == m.x, zero, m.hi), zero), m.hi)
    x = np.where(snap, zero, x)
    value = np.where(snap, at_zero, np.asarray(m.value))  # f at the new x, 0
    return dataclasses.replace(m, x=x, value=value, lo=lo, hi=hi)


def color_limits_line(
    values: Any,
    vmin: float,
    vmax: float,
    given_min: float | None,
    given_max: float | None,
    cut: tuple[float, float] | None = None,
) -> str:
    """Where the colour limits ``vmin``/``vmax`` of a map of ``values`` came from, for the
    summary: the flags given, the data's percentiles for the rest, and a warning when no
    finite value falls between them (the map is then one colour). ``cut``: the span
    (:meth:`Context.map_limits`) a limit taken from the data was cut to, when it was.

    Example:
        >>> print(color_limits_line(np.array([0.0, 0.5]), 1.0, 1.001, 1.0, None))
        1 to 1.001 (--vmin; the top set just above it: every value lies below --vmin, so the
        map is one colour)
    """
    from jaxgd.plotting._common import trims

    data = np.asarray(values, np.float64)
    finite = data[np.isfinite(data)]
    # plotting.color_limits trims at the 2nd/98th percentiles only where that leaves out a
    # whole value; a smaller map's limits are its min and max.
    whole = not trims(finite.size, 2.0)
    if given_min is None and given_max is None:
        source = (
            "no finite values to take them from: every run diverged"
            if not finite.size
            # One value (a start where f is flat, every rate): no percentile spans a range.
            else f"every finite value is {num(finite[0])}: a small range around it"
            if finite.min() == finite.max()
            else "the smallest to the largest finite value"
            if whole
            else "2nd to 98th percentile of the finite values"
        )
    elif given_min is not None and given_max is not None:
        source = "--vmin/--vmax"
    elif not finite.size:
        other = "top" if given_min is not None else "bottom"
        source = (
            f"{'--vmin' if given_min is not None else '--vmax'}; no finite value to set the "
            f"{other} from: every run diverged"
        )
    elif given_min is not None:
        top = finite.max() if whole else np.percentile(finite, 98.0)
        source = "--vmin; " + (
            ("the top from the largest value" if whole else "the top from the 98th percentile")
            if top > vmin
            else "the top set just above it"
        )
    else:
        bottom = finite.min() if whole else np.percentile(finite, 2.0)
        source = "--vmax; " + (
            (
                "the bottom from the smallest value"
                if whole
                else "the bottom from the 2nd percentile"
            )
            if bottom < vmax
            else "the bottom set just below it"
        )
    given = given_min is not None or given_max is not None
    if given and finite.size and (finite.max() < vmin or finite.min() > vmax):
        side = "below --vmin" if finite.max() < vmin else "above --vmax"
        source += f": every value lies {side}, so the map is one colour"
    if cut is not None:
        beyond = int(np.count_nonzero((finite < cut[0]) | (finite > cut[1])))
        source += (
            f", cut to [{num(cut[0])}, {num(cut[1])}], the domain, the start and the minima with "
            f"a margin: {plural(beyond, 'cell')} beyond it, far from every minimum, "
            f"{'takes' if beyond == 1 else 'take'} the colour bar's end colours"
        )
    return f"{num(vmin)} to {num(vmax)} ({source})"


def _sized(n: int, per: int = 1) -> str:
    """``n / per`` to 3 significant digits, for a count ``n`` however large: a product of
    grid sizes can pass the largest float (about 1.8e308), which ``f"{n:.3g}"`` and
    ``n / per`` refuse with OverflowError.

    Example:
        >>> _sized(12345), _sized(3 << 30, 2**30), _sized(10**400 + 10**398)
        ('1.23e+04', '3', '1.01e+400')
        >>> _sized(9996 * 10**397)  # rounds up to the next power of ten
        '1e+401'
    """
    try:
        return f"{n / per:.3g}"
    except OverflowError:
        whole = n // per
        digits = int(math.log10(whole))
        # The leading digits in float's own e-format, whose exponent carries a round-up
        # (9.996 is 1.00e+01): to 3 digits by hand, 9.996e400 was printed '10e+400'.
        lead, shift = f"{whole / 10**digits:.2e}".split("e")
        return f"{float(lead):g}e+{digits + int(shift)}"


def check_runs(runs: int, flags: Sequence[str]) -> None:
    """Refuse ``runs`` cells that cannot fit in host memory, before anything is computed.

    For an axis an experiment adds beyond its grid flags (optimisers, values of a parameter of
    f), which :func:`setup` cannot see; ``flags`` are those whose values multiply to ``runs``.

    Raises:
        UsageError: the cells would need more than half the free host memory.

    Example:
        >>> check_runs(10**6, ["--optimizers", "--starts"])
        >>> check_runs(10**18, ["--params", "--repeats"])
        Traceback (most recent call last):
        ...
        jaxgd._cli_flags.UsageError: --params, --repeats: 1e+18 runs need about ...
    """
    need = runs * BYTES_PER_CELL
    free = available_host_memory() or _UNKNOWN_MEMORY
    if need > free // 2:
        raise UsageError(
            f"{', '.join(flags)}: {_sized(runs)} runs need about {_sized(need, 2**30)} GiB of "
            f"memory and {free / 2**30:.3g} GiB is free; use fewer values."
        )


#: Minima a summary line lists before it says how many more there are.
_LIST_MOST = 12


def _first_few(values: Any, most: int = 8) -> str:
    """Up to ``most`` values, then how many more."""
    shown = ", ".join(num(v) for v in values[:most])
    return shown if len(values) <= most else f"{shown}, ... ({len(values) - most} more)"


def stretches(coords: Any, hit: Any, *, most: int = 4) -> str:
    """Where along a 1-D grid ``hit`` is true, as the stretches of neighbouring grid points.

    Args:
        coords: the grid, shape ``(n,)``, in any order.
        hit: booleans of the same shape.
        most: how many stretches to name; the rest are counted.

    Returns:
        ``"= a"`` for one point, ``"from a to b"`` for one unbroken stretch, else
        ``"in k stretches: a to b, c, ..."``.

    Example:
        >>> stretches([0, 1, 2, 3, 4], [True, True, False, False, True])
        'in 2 stretches: 0 to 1, 4'
        >>> stretches([0, 1, 2], [False, True, True]), stretches([0, 1], [True, False])
        ('from 1 to 2', '= 0')
    """
    coords, hit = np.asarray(coords, np.float64), np.asarray(hit, bool)
    order = np.argsort(coords, kind="stable")
    x, h = coords[order], hit[order]
    runs, i = [], 0
    while i < h.size:
        if h[i]:
            j = i
            while j + 1 < h.size and h[j + 1]:
                j += 1
            runs.append((x[i], x[j]))
            i = j + 1
        else:
            i += 1
    text = [num(a) if a == b else f"{num(a)} to {num(b)}" for a, b in runs]
    if len(runs) == 1:
        return f"= {text[0]}" if runs[0][0] == runs[0][1] else f"from {text[0]}"
    more = f" and {len(runs) - most} more" if len(runs) > most else ""
    return f"in {len(runs)} stretches: {', '.join(text[:most])}{more}"


class Context(Output):
    """A parsed experiment run: the function, its domain, the grids, the key, the output.

    Made by :func:`setup`. Attributes: ``args`` (the argparse namespace), ``function``
    (a :class:`~jaxgd.functions.Function1D`), ``f``, ``domain`` (``(lo, hi)``), ``dtype`` (the
    working float dtype), ``tol``, ``key`` (a ``jax.random`` key from ``--seed``), ``seed``,
    ``vmin``/``vmax`` (when :func:`add_color_args` was used) and ``written`` (the paths saved
    so far). The grid properties return concrete arrays of the working dtype (epochs as
    integers). Every flag is checked when the context is made.
    """

    def __init__(
        self,
        args: argparse.Namespace,
        function: functions.Function1D,
        figures: Sequence[str] = (),
    ) -> None:
        self.args = args
        self.function = function
        self.f = function.f
        self.dtype = np.dtype(default_float())
        self._minima: Minima | None = None
        self._domain_minima: Minima | None = None
        self._hit: set[int] | None = None
        self._defaults: dict[str, Any] = getattr(args, "_grid_defaults", {})
        self.seed = whole("--seed", args.seed, minimum=0, maximum=MAX_SEED)
        self._key: jax.Array | None = None
        # The notebook's own grids are for the notebook's f; another f's grids follow its domain.
        self.own_domain = args.domain is not None or (
            function.name != DEFAULT_FUNCTION and function.domain != NOTEBOOK_DOMAIN
        )
        if args.domain is not None:
            lo, hi = (in_dtype("--domain", number("--domain", t), self.dtype) for t in args.domain)
            if not lo < hi:
                raise UsageError(f"--domain: LO must be below HI; got {lo:g} and {hi:g}.")
            self.domain = (lo, hi)
        else:
            self.domain = tuple(float(v) for v in function.domain)
        lo, hi = self.domain
        # The flag, or the attribute of the user's f the domain came from.
        source = "--domain:" if args.domain is not None else None
        if source is None:
            spec = getattr(args, "function", None) or function.name
            source = f"--function {spec!r}: its domain"
        span_in_dtype(source, lo, hi, self.dtype)
        # The spacing of the floats at the domain's larger end: finer near 0.
        resolution = float(np.finfo(self.dtype).eps) * max(
            abs(lo), abs(hi), float(np.finfo(self.dtype).tiny)
        )
        if hi - lo < 1000 * resolution:
            raise UsageError(
                f"{source} [{lo:g}, {hi:g}] is too narrow for {self.dtype} to tell its points "
                f"apart (spacing {resolution:.2g}); widen it"
                + (" or use --x64." if self.dtype.itemsize < 8 else ".")
            )
        self.tol = number("--tol", args.tol)
        if self.tol <= 0:
            raise UsageError(f"--tol: must be > 0, got {args.tol.strip()!r}.")
        self.tol = in_dtype("--tol", self.tol, self.dtype)
        if self.tol < resolution:
            # The tol suggested is one the analysis takes without its warning of a tol finer
            # than runs can settle within (a few floats) at a minimum of the domain.
            least = analysis._STALL_FLOATS * resolution
            raise UsageError(
                f"--tol: {self.tol:g} is below what {self.dtype} resolves on the domain "
                f"{self.domain_text} (spacing {resolution:.2g}), so no run could ever come "
                f"that close; use --tol {10 ** math.ceil(math.log10(least)):g} or more"
                + (", or --x64." if self.dtype.itemsize < 8 else ".")
            )
        if self.tol >= hi - lo:
            # Every point of the domain would be within tol of every minimum on it: the
            # summaries then contradict themselves (runs "not converged" yet "at a minimum").
            example = 10 ** math.floor(math.log10(hi - lo)) / 1000
            raise UsageError(
                f"--tol: {self.tol:g} is not below the width of the domain {self.domain_text} "
                f"({hi - lo:g}), so every point would count as at every minimum; give a "
                f"distance well below it, e.g. --tol {example:g}."
            )
        given = {flag: getattr(args, flag[2:], None) for flag in ("--vmin", "--vmax")}
        self.vmin, self.vmax = (
            None if text is None else number(flag, text) for flag, text in given.items()
        )
        for flag, value in (("--vmin", self.vmin), ("--vmax", self.vmax)):
            if value is not None and abs(value) > MAX_COLOR_LIMIT:
                raise UsageError(
                    f"{flag}: a colour limit must be at most {MAX_COLOR_LIMIT:g} in size (the "
                    f"colour bar's ticks overflow near the float's maximum); got {value:g}."
                )
        if self.vmin is not None and self.vmax is not None and not self.vmin < self.vmax:
            raise UsageError(f"--vmin must be below --vmax; got {self.vmin:g} and {self.vmax:g}.")
        self._values: dict[str, Any] = {}
        self._grids = {
            dest: self._grid(dest)
            for dest, default in self._defaults.items()
            if isinstance(default, Grid)
        }
        if "repeats" in self._defaults:
            given = getattr(args, "repeats", None)
            self._values["repeats"] = (
                whole("--repeats", given, minimum=1)
                if given is not None
                else int(self._defaults["repeats"])
            )
        self._plan_memory()
        # Every value now, so a bad flag fails before anything is compiled. A random start
        # is the exception: no flag gave it, so nothing can be wrong with it, and drawing it
        # compiles (~0.3 s, paid by `python -m experiments all`'s check of every
        # experiment's flags): it is drawn when first read, once the work begins.
        for dest in self._defaults:
            if dest == "start" and self.start_is_random:
                continue
            getattr(self, dest)
        self._check_outputs(figures)

    # -- grids, validated with the library's own checks and reported under the flag's name --
    def _grid(self, dest: str) -> Grid:
        flag = _GRID[dest][0]
        given = getattr(self.args, dest)
        if given is not None:
            return grid(flag, given)
        default = self._defaults[dest]
        if dest == "starts" and self.own_domain:
            return Grid(self.domain[0], self.domain[1], default.num)
        return default

    def _plan_memory(self) -> None:
        """Refuse a grid whose sweep cannot fit in host memory, before any array is made."""
        sizes = {_GRID[d][0]: g.num for d, g in self._grids.items()}
        if "repeats" in self._values:
            sizes["--repeats"] = self._values["repeats"]
        cells = math.prod(sizes.values())
        need = cells * BYTES_PER_CELL
        free = available_host_memory() or _UNKNOWN_MEMORY
        if need > free // 2:
            shown = " x ".join(f"{n:g} ({flag})" for flag, n in sizes.items())
            shown = f"{shown} = {_sized(cells)}" if len(sizes) > 1 else _sized(cells)
            raise UsageError(
                f"{', '.join(sizes)}: {shown} runs need about "
                f"{_sized(need, 2**30)} GiB of memory and {free / 2**30:.3g} GiB is free; "
                "use fewer values."
            )

    def _grid_values(self, dest: str) -> np.ndarray:
        if dest not in self._values:
            flag, g = _GRID[dest][0], self._grids[dest]
            with flag_errors(flag):
                if dest == "epochs":
                    raw = g.values(whole=True)
                    _, first = np.unique(raw, return_index=True)
                    if first.size < 2:
                        raise ValueError(
                            f"{g} rounds to one whole epoch count, {int(raw[0])}; a swept axis "
                            "needs at least 2: widen LO to HI"
                        )
                    if first.size < raw.size:
                        # Rounding to whole epochs merged values: the same cells twice
                        # would count twice in every summary, and sel would find one.
                        raw = raw[np.sort(first)]
                        print(
                            f"note: {flag} {g} rounds to {plural(raw.size, 'distinct epoch count')}"
                            f" (of {g.num} asked), each swept once: {_first_few(raw)}"
                        )
                    values = as_epochs("epochs", raw)
                else:
                    for end in (g.lo, g.hi):  # every value lies between them: the flag's words
                        in_dtype(flag, end, self.dtype)
                    raw = g.values()
                    values = as_float_axis(dest, raw, self.dtype, nonnegative=dest != "starts")
                    lost = (raw != 0) & (values == 0)
                    if lost.any():
                        raise ValueError(
                            f"{raw[lost][0]:g} rounds to 0 in {self.dtype}; use larger values "
                            "or --x64"
                        )
            self._values[dest] = values
        return self._values[dest]

    def _single(self, dest: str) -> Any:
        flag = _SINGLE[dest][0]
        given = getattr(self.args, dest)
        if given is None:
            return None
        if dest == "epochs":
            value = whole(flag, given, minimum=0)
            with flag_errors(flag):
                as_epochs("epochs", value)
            return value
        value = in_dtype(flag, number(flag, given), self.dtype)
        if dest == "learning_rate" and value < 0:
            raise UsageError(
                f"{flag}: must be >= 0, got {given.strip()!r} (to maximise f, descend -f)."
            )
        return value

    def _has(self, dest: str) -> None:
        if dest not in self._defaults:
            raise AttributeError(f"this experiment has no {dest!r} axis; add it in add_grid_args")

    def scale(self, dest: str) -> str:
        """How to draw a swept axis: ``"log"`` when given as ``LO HI N log``, else ``"linear"``."""
        return "log" if self.grid(dest).log else "linear"

    def grid(self, dest: str) -> Grid:
        """The :class:`Grid` behind a swept axis (``"starts"``, ``"learning_rates"``,
        ``"epochs"``), e.g. to ask whether it is log-spaced."""
        self._has(dest)
        return self._grids[dest]

    @property
    def starts(self) -> np.ndarray:
        """The start points of ``--starts``, shape ``(S,)``."""
        self._has("starts")
        return self._grid_values("starts")

    @property
    def learning_rates(self) -> np.ndarray:
        """The learning rates of ``--learning-rates``, shape ``(L,)``."""
        self._has("learning_rates")
        return self._grid_values("learning_rates")

    @property
    def epochs(self) -> np.ndarray | int:
        """``--epochs``: counts of shape ``(E,)`` when swept, else one int."""
        self._has("epochs")
        if isinstance(self._defaults["epochs"], Grid):
            return self._grid_values("epochs")
        given = self._single("epochs")
        return int(self._defaults["epochs"]) if given is None else given

    @property
    def learning_rate(self) -> float:
        """``--learning-rate``, one rate."""
        self._has("learning_rate")
        given = self._single("learning_rate")
        return float(self._defaults["learning_rate"]) if given is None else given

    @property
    def repeats(self) -> int:
        """``--repeats``: random starts per cell."""
        self._has("repeats")
        return self._values["repeats"]

    @property
    def start(self) -> float:
        """``--start``; by default the function's own start, or a seeded random grid point."""
        self._has("start")
        given = self._single("start")
        if given is not None:
            return given
        default = self._defaults["start"]
        lo, hi = self.domain
        if default == "random":
            # The notebook: np.random.choice(x) over its 401-point plotting grid x.
            grid = np.linspace(lo, hi, 401)
            # An int32 draw: with x64 on, randint's default int64 drew another index, so
            # --x64 ran from elsewhere, not the same run in float64.
            index = jax.random.randint(self.key, (), 0, grid.size, dtype=np.int32)
            return float(grid[int(index)])
        x0 = self.function.default_start if default == "function" else float(default)
        return x0 if lo <= x0 <= hi else 0.5 * (lo + hi)

    @property
    def start_is_random(self) -> bool:
        """True when the start was drawn at random (``--start`` not given, default random)."""
        return getattr(self.args, "start", None) is None and self._defaults.get("start") == "random"

    def describe_start(self) -> str:
        """Where the single start came from, in words."""
        if getattr(self.args, "start", None) is not None:
            return "--start"
        if self.start_is_random:
            return f"a seeded random point of {self.domain_text}, seed {self.seed}"
        if self._defaults.get("start") == "function":
            own = self.function.start is not None and self.start == self.function.default_start
            return f"{self.function.name}'s default start" if own else "the default start"
        return "the default start"

    @property
    def key(self) -> jax.Array:
        """The ``jax.random`` key of ``--seed``; made on first use, as making it compiles."""
        if self._key is None:
            self._key = seed_key(self.seed)
        return self._key

    def overshoot(self, final: Any, rate: float, diverged: Any = None) -> str | None:
        """A sentence when runs of plain descent at ``rate`` ended near no minimum because the
        rate is too large for the minimum they are heading to: there ``f''`` is so large that
        ``rate > 2 / f''``, and each step overshoots it (Rastrigin's minima at rate 0.01);
        None otherwise. Counts the runs of ``final`` within ``tol`` of no minimum."""
        from jaxgd.analysis import downhill_minimum

        final = np.asarray(final, np.float64).ravel()
        bad = np.zeros(final.shape, bool) if diverged is None else np.asarray(diverged).ravel()
        lost = (
            ~bad
            & np.isfinite(final)
            & (analysis.nearest_minimum(final, self.minima, tol=self.tol) < 0)
        )
        if not lost.any() or rate <= 0:
            return None
        heading = downhill_minimum(self.f, final[lost], self.minima, tol=self.tol)
        heading = heading[heading >= 0]
        if heading.size == 0:
            return None
        # The minimum most of them head to, and its curvature (float64: f'' may be large).
        i = int(np.bincount(heading).argmax())
        x = float(self.minima.x[i])
        with jax.enable_x64(True):
            curve = float(jax.grad(jax.grad(self.f))(np.float64(x)))
        if not (np.isfinite(curve) and curve > 0 and rate > 2.0 / curve):
            return None
        bound = 2.0 / curve
        return (
            f"note: {int(lost.sum())} of {final.size} runs ended near no minimum because each "
            f"step overshoots: at the minimum x = {num(x)} most of them head to, f'' = "
            f"{num(curve)}, so plain descent settles there only for learning rates below "
            f"2/f'' = {num(bound)}, and {num(rate)} is above it; try --learning-rate "
            f"{num(float(f'{0.8 * bound:.1g}'))}"
        )

    def stationary(self, x0: Any, moved: Any = None) -> str | None:
        """A sentence when any of the starts ``x0`` is a stationary point of f (f'(x0) == 0),
        where plain descent never moves; None when none is.

        ``moved``, optional booleans shaped like ``x0``, marks starts a run of plain descent
        is known to have left: their f' is not 0 (a step from a stationary point changes
        nothing), so only the others are checked, and when every start moved, f' is never
        compiled.
        """
        x0 = np.atleast_1d(np.asarray(x0, self.dtype))
        still = x0
        if moved is not None:
            still = x0[~np.broadcast_to(np.asarray(moved, bool).ravel(), x0.shape)]
        if still.size:
            still = still[np.asarray(_flat_at(self.f, still))]
        if still.size == 0:
            return None
        # In float32, f' may be 0 only because it underflows (f'(100) of the notebook's f is
        # about 1e-217): not a stationary point, and float64 moves from it.
        tiny = np.zeros(still.shape, bool)
        if self.dtype == np.float32:
            slope = _slope_in_float64(self.f, still)
            tiny = np.isfinite(slope) & (slope != 0)
        notes = []
        if x0.size == 1 and tiny.any():
            notes.append(
                f"note: f'(x0) at x0 = {num(still[0])} is 0 in float32 ({slope[0]:.3g} in "
                "float64, too small for float32: not a stationary point of f), so descent never "
                "moves from it; choose another --start"
            )
        elif x0.size == 1:
            notes.append(
                f"note: x0 = {num(still[0])} is a stationary point of f (f'(x0) = 0): descent "
                "never moves from it; choose another --start"
            )
        else:
            flat = still[~tiny]
            if flat.size:
                notes.append(
                    f"note: {plural(int(flat.size), 'start')} of {x0.size} (x0 = {_few(flat)}) "
                    f"{'is a stationary point' if flat.size == 1 else 'are stationary points'} "
                    "of f (f'(x0) = 0), where descent never moves"
                )
            if tiny.any():
                notes.append(
                    f"note: at {plural(int(tiny.sum()), 'start')} of {x0.size} "
                    f"(x0 = {_few(still[tiny])}) f' is 0 in float32 but not in float64 (too "
                    "small for float32: not stationary points of f), so descent never moves "
                    "from them"
                )
        return "\n".join(notes)

    # -- minima -------------------------------------------------------------------------------
    def _on_host(self, m: Minima) -> Minima:
        # The summaries and plots index minima one at a time: on NumPy arrays that costs
        # nothing, on JAX arrays each new kind of index compiles a small program.
        return snap_minima(self.f, m, self.domain)

    @property
    def minima(self) -> Minima:
        """Every local minimum of f on the domain, and, after :meth:`reached`, every one
        outside it where runs ended (:func:`jaxgd.minima.find_minima`)."""
        if self._minima is None:
            from jaxgd.minima import find_minima

            self._domain_minima = self._on_host(find_minima(self.f, *self.domain))
            self._minima = self._domain_minima
        return self._minima

    def reached(self, final: Any) -> Minima:
        """Widen :attr:`minima` to the minima outside the domain where the runs ``final``
        (any shape) ended, so a run that settled there is not called "no minimum"."""
        from jaxgd.minima import find_minima_reached

        final = np.asarray(final, np.float64)
        self._minima = self._on_host(find_minima_reached(self.f, final, self.domain))
        which = analysis.nearest_minimum(final, self._minima, tol=self.tol)
        self._hit = set(which[which >= 0].tolist())
        return self._minima

    def outside(self, i: int) -> bool:
        """True when minimum ``i`` lies outside the domain."""
        x = float(self.minima.x[i])
        return not self.domain[0] <= x <= self.domain[1]

    @property
    def global_minima(self) -> np.ndarray:
        """Indices into ``minima.x`` of the global minima (ties included), lowest first."""
        return analysis.global_minima(self.minima)

    @property
    def global_minimum(self) -> tuple[float, float] | None:
        """``(x, f(x))`` of the lowest stationary minimum, or None if there is none.

        An end of the domain is not counted: descent does not stop there.
        """
        g = self.global_minima
        return None if g.size == 0 else (float(self.minima.x[g[0]]), float(self.minima.value[g[0]]))

    def describe_minimum(self, i: int) -> str:
        """ "the global minimum x = ..." or "local", saying when it lies outside the domain."""
        kind = "global" if i in set(self.global_minima.tolist()) else "local"
        where = f" outside the domain {self.domain_text}" if self.outside(i) else ""
        return f"{kind} minimum {self.location(i)}{where}"

    def target(self, i: int) -> float | tuple[float, float]:
        """Minimum ``i`` for a figure's outline: its x, or its span ``(lo, hi)`` if flat."""
        lo, hi = float(self.minima.lo[i]), float(self.minima.hi[i])
        return (lo, hi) if lo < hi else float(self.minima.x[i])

    def location(self, i: int) -> str:
        """Where minimum ``i`` lies: ``x = 1.5``, or ``x in [-1, 1]`` for a flat minimum
        (f is at its lowest on all of it, and descent stops anywhere there)."""
        lo, hi = float(self.minima.lo[i]), float(self.minima.hi[i])
        if lo < hi:
            return f"x in [{num(lo)}, {num(hi)}]"
        return f"x = {num(self.minima.x[i])}"

    def map_limits(self, values: Any, start: Any = None) -> tuple[float, float, str]:
        """Colour limits for a map of final guesses ``values``, and the summary's line on them.

        ``--vmin``/``--vmax`` where given; the rest from the data
        (:func:`jaxgd.plotting.color_limits`), cut to the span of the domain, ``start`` and
        the stationary :attr:`minima`, widened by :data:`MAP_MARGIN` of it on each side.
        Runs past the stable rates grow without bound before they overflow: a few cells at
        1e27 drew every other cell, from the ones that settled to those swinging across the
        domain, in one colour. Cut, those take the colour bar's end colours and the rest
        keep theirs. Where no finite value lies in the span, the data's limits stand.
        """
        from jaxgd import plotting

        vmin, vmax = plotting.color_limits(values, vmin=self.vmin, vmax=self.vmax)
        # Stationary minima: the ends of the windows searched around runs that left the
        # domain are flagged at_boundary, and lie wherever those runs went.
        m = self.minima
        stationary = np.asarray(m.x, np.float64)[~np.asarray(m.at_boundary, bool)]
        points = np.asarray([*self.domain, *stationary.ravel()])
        if start is not None:
            points = np.r_[points, np.asarray(start, np.float64).ravel()]
        points = points[np.isfinite(points)]
        pad = MAP_MARGIN * (points.max() - points.min())
        lo, hi = float(points.min() - pad), float(points.max() + pad)
        data = np.asarray(values, np.float64)
        # Only where some value lies in the span: runs that all left it keep their own limits.
        cut_min = self.vmin is None and vmin < lo
        cut_max = self.vmax is None and vmax > hi
        new_min, new_max = (lo if cut_min else vmin), (hi if cut_max else vmax)
        if (cut_min or cut_max) and new_min < new_max and ((lo <= data) & (data <= hi)).any():
            line = color_limits_line(values, new_min, new_max, self.vmin, self.vmax, (lo, hi))
            return new_min, new_max, line
        return vmin, vmax, color_limits_line(values, vmin, vmax, self.vmin, self.vmax)

    # -- summary text --------------------------------------------------------------------------
    @property
    def domain_text(self) -> str:
        """The domain as ``[lo, hi]``."""
        return f"[{num(self.domain[0])}, {num(self.domain[1])}]"

    def describe_function(self, dtype: Any = None) -> str:
        """One line: which f, what it is, and the float type the numbers were computed in."""
        fn = self.function
        what = f"f: {fn.name} ({fn.description})" if fn.description else f"f: {fn.name}"
        dtype = np.dtype(self.dtype if dtype is None else dtype)
        hint = " (--x64 for float64)" if dtype.itemsize < 8 else ""
        return f"{what}; computed in {dtype}{hint}"

    def describe_minima(self) -> str:
        """One line listing the stationary local minima of f (on the domain, and outside it
        where runs ended), global first."""
        m, best = self.minima, set(self.global_minima.tolist())
        if not best:
            return f"f has no local minimum inside {self.domain_text} (other than an end)"
        keep = [i for i in range(len(m)) if not bool(m.at_boundary[i])]
        keep.sort(key=lambda i: (i not in best, float(m.x[i])))

        def listed(idx: list[int]) -> str:
            # Global ones first (keep's order), then by x; a long list is cut, with a count.
            text = ", ".join(
                f"{self.location(i)} (f = {num(m.value[i])}{', global' if i in best else ''})"
                for i in idx[:_LIST_MOST]
            )
            more = len(idx) - _LIST_MOST
            return text if more <= 0 else f"{text}, and {more} more"

        inside = [i for i in keep if not self.outside(i)]
        outside = [i for i in keep if self.outside(i)]
        text = f"local minima of f on {self.domain_text}: {listed(inside) or 'none'}"
        # Past the ends, only the minima some run settled at; runs still on their way pass
        # many more, which are counted.
        reached = [i for i in outside if self._hit is None or i in self._hit]
        if reached:
            text += f"; outside it, where runs ended: {listed(reached)}"
        if len(outside) > len(reached):
            text += (
                f"; {len(outside) - len(reached)} more outside it near runs that had not settled"
            )
        # The domain's own ends: a window's end around runs far out is not f's value there.
        edges = {float(np.asarray(v, np.asarray(m.x).dtype)) for v in self.domain}
        ends = [i for i in range(len(m)) if bool(m.at_boundary[i]) and float(m.x[i]) in edges]
        lowest = min(float(m.value[i]) for i in best)
        below = [i for i in ends if float(m.value[i]) < lowest]
        if below:
            i = min(below, key=lambda i: float(m.value[i]))
            text += (
                f"; f is lower at the end x = {num(m.x[i])} (f = {num(m.value[i])}), so "
                "'global' means the lowest local minimum (f may fall further past that end)"
            )
        return text

    def ended_at(self, x: Any, diverged: Any = False) -> str:
        """Where a run that ended at ``x`` stopped, as a sentence about "the run".

        ``diverged``: the result's flag for the run (its position or f there is not finite).
        """
        if not np.isfinite(float(x)):
            return "the run diverged"
        if bool(diverged):
            return f"the run diverged: f is not finite where it ended, x = {num(x)}"
        (i,) = analysis.nearest_minimum([x], self.minima, tol=self.tol)
        if i < 0:
            m = self.minima
            inner = np.flatnonzero(~np.asarray(m.at_boundary))
            if inner.size == 0:
                return f"f has no local minimum inside {self.domain_text} for the run to reach"
            lo, hi = np.asarray(m.lo)[inner], np.asarray(m.hi)[inner]
            away = analysis._span_distance(float(x), lo, hi)
            k = int(np.argmin(away))
            return (
                f"the run is within {num(self.tol)} of no local minimum: the nearest, "
                f"{self.location(int(inner[k]))}, is {num(away[k])} away"
            )
        if i in self.global_minima:
            return f"the run reached the {self.describe_minimum(i)}"
        return f"the run reached the {self.describe_minimum(i)}, not a global one"

    def tally(
        self,
        final: Any,
        *,
        noun: str,
        diverged: Any = None,
        coords: tuple[str, Any] | None = None,
    ) -> list[str]:
        """Summary lines counting the runs that reached each minimum, none, or diverged.

        Args:
            final: final guesses, any shape (non-finite ones count as diverged).
            noun: what one run is called, plural ("starts", "rates", "cells").
            diverged: the result's flags, ``final``'s shape: a run whose f is not finite
                where it ended counts as diverged too, wherever that is.
            coords: optional ``(name, values)`` of a 1-D ``final``: each minimum's line then
                says at which ``name`` values runs reached it (see :func:`stretches`).
        """
        final = np.asarray(final, np.float64)
        n = final.size
        bad = ~np.isfinite(final)
        if diverged is not None:
            bad |= np.broadcast_to(np.asarray(diverged, bool), final.shape)
        diverged = bad
        which = np.where(diverged, -1, analysis.nearest_minimum(final, self.minima, tol=self.tol))
        best = set(self.global_minima.tolist())
        hits = {i: int((which == i).sum()) for i in set(which[which >= 0].tolist())}
        # Every minimum a run reached and the global ones, by name, up to TALLY_MOST lines
        # (most runs first; a global one before a local one); an f with dozens of minima, or
        # dozens tied for lowest, gets one more line for the rest.
        shown = sorted(set(hits) | best, key=lambda i: (-hits.get(i, 0), i not in best, i))
        first = sorted(best, key=lambda i: (-hits.get(i, 0), i))[:1]  # always a global one
        shown = first + [i for i in shown if i not in first]
        named = sorted(shown[:TALLY_MOST], key=lambda i: (i not in best, i))
        lines = []
        for i in named:
            hit = which == i
            where = ""
            if coords is not None and hit.any():
                where = f", {coords[0]} {stretches(coords[1], hit)}"
            lines.append(
                f"reached the {self.describe_minimum(i)} (within {num(self.tol)}): "
                f"{hits.get(i, 0)} of {n} {noun}{where}"
            )
        more = shown[TALLY_MOST:]
        if more:
            kinds = (
                "global " if set(more) <= best else "global and local " if set(more) & best else ""
            )
            lines.append(
                f"reached {len(more)} more {kinds}minima (within {num(self.tol)}): "
                f"{sum(hits.get(i, 0) for i in more)} of {n} {noun}"
            )
        rest = (which < 0) & ~diverged
        if rest.any():
            lines.append(
                f"within {num(self.tol)} of no minimum: {int(rest.sum())} of {n} {noun} "
                f"(final guesses {num(final[rest].min())} to {num(final[rest].max())})"
            )
        lines.append(f"diverged: {int(diverged.sum())} of {n} {noun}")
        return lines


#: Minima a summary names one line each (:meth:`Context.tally`).
TALLY_MOST = 12


def setup(
    p: argparse.ArgumentParser,
    argv: Sequence[str] | None = None,
    *,
    figures: Sequence[str] = (),
) -> Context:
    """Parse ``argv``, switch on x64 if asked, load ``--function`` and check every flag.

    Everything a flag could get wrong is checked here, before anything is compiled, and
    raised as a :class:`UsageError`: the numbers (finite, not rounding to 0 or overflowing
    the working dtype), the grids' memory, ``--out`` (a folder that can be written, with no
    folder where one of ``figures`` would go) and ``--save``. Unless ``--show`` is given,
    matplotlib is set to its non-interactive Agg backend (when pyplot is not in use yet), and
    in a run through :func:`command` figures are made without pyplot
    (:func:`jaxgd.plotting.set_headless`), so runs are headless. A run from the command line
    (``argv`` None) turns on JAX's persistent compilation cache unless ``--no-cache`` is given
    (see :mod:`jaxgd._compile_cache`).

    Args:
        p: the parser from :func:`parser` with the experiment's flags.
        argv: the words after the program name; None reads ``sys.argv`` (a command-line run).
        figures: the names (without extension) of the figures the run will write to ``--out``.
    """
    args = parse_run(p, argv)
    ctx = Context(args, load_function(args.function), figures)
    headless_unless_show(args.show)
    return ctx


@functools.partial(jax.jit, static_argnums=0)
def _flat_at(f: Callable, x: jax.Array) -> jax.Array:
    """Where f' is 0 and f is finite: a stationary point. (Where f is NaN, a jnp.where that
    guards it often has f' = 0 too; such a start is not one.) One program for all starts;
    called eagerly, grad(f) compiles one per operation."""
    value, slope = jax.vmap(jax.value_and_grad(f))(x)
    return (slope == 0) & jax.numpy.isfinite(value)


def _few(x: np.ndarray) -> str:
    """Up to four of ``x``, then "..."."""
    return ", ".join(num(v) for v in x[:4]) + (", ..." if x.size > 4 else "")


def _slope_in_float64(f: Callable, x: np.ndarray) -> np.ndarray:
    """f' at ``x`` computed in float64; NaN where f does not run in float64 (it may insist on
    float32), so that no start is called anything it was not shown to be."""
    try:
        with jax.enable_x64(True):
            slope = jax.jit(jax.vmap(jax.grad(f)))(np.asarray(x, np.float64))
            return np.asarray(slope, np.float64).reshape(x.shape)
    except Exception:  # any failure of f in float64 leaves the float32 verdict
        return np.full(x.shape, np.nan)


@functools.partial(jax.jit, static_argnums=0)
def _values(f: Callable, x: jax.Array) -> jax.Array:
    return jax.vmap(f)(x)


class _FlagsChecked(BaseException):
    """Raised by :func:`checked` inside :func:`check_flags`: every flag is good, stop there.
    Not an Exception, so that no ``except Exception`` of an experiment's takes it for a
    failure."""


#: True while :func:`check_flags` runs an experiment's ``main``.
_checking = [False]


def checked() -> None:
    """Mark the point in an experiment's ``main`` where every flag has been checked and the
    work begins.

    In a call through :func:`check_flags` the run stops here, with status 0; in any other call
    this does nothing. An experiment calls it once, after :func:`setup` and its own checks of
    the flags it adds, before anything is computed or printed.
    """
    if _checking[0]:
        raise _FlagsChecked


def check_flags(main: Callable[[Sequence[str] | None], int], argv: Sequence[str]) -> int:
    """Check ``argv`` as the experiment ``main`` (a :func:`command`) would, computing nothing.

    ``main`` runs up to its :func:`checked` and stops there. Returns its status: 0 when every
    flag is good, 2 (with the line ``error: ...`` on stderr) when one is refused, 130 or 143
    when Ctrl-C or SIGTERM stopped it. ``python -m experiments all`` checks every experiment's
    flags this way before it runs any, so a bad one is refused before anything runs.

    Example:
        >>> @command
        ... def main(argv=None):
        ...     p = parser("experiments.demo", "Demo.")
        ...     add_grid_args(p, start=0.0, learning_rate=0.1, epochs=10)
        ...     ctx = setup(p, argv)
        ...     checked()
        ...     raise AssertionError("not reached in a check")
        >>> import tempfile
        >>> check_flags(main, ["--out", tempfile.mkdtemp()])
        0
        >>> check_flags(main, ["--epochs", "-1"])
        2
    """
    before = _checking[0]
    _checking[0] = True
    try:
        return main(list(argv))
    finally:
        _checking[0] = before


def command(main: Callable[[Sequence[str] | None], int]) -> Callable[..., int]:
    """Wrap an experiment's ``main(argv) -> int`` for the command line and in-process calls.

    A :class:`UsageError` becomes one line on stderr and return value 2 (naming the files the
    run had written, when a later one could not be written), and so does a
    ``MemoryError`` (a result too large for the host, refused before it is allocated);
    Ctrl-C the line ``interrupted`` and 130 (the shell's status for SIGINT), including one
    held while a command-line run imported its modules (see :func:`deliver_held_interrupt`);
    SIGTERM (``kill PID``) likewise the line ``terminated`` and 143 (128 + SIGTERM), where
    SIGTERM has Python's default action (the handler is put back afterwards): either way the
    file being written is removed, and the line names those already written;
    ``-h`` returns 0 instead of exiting; a warning is one line, ``warning: ...``, once however
    often it is raised (not Python's two lines naming a file of the experiment); the x64
    setting, the headless setting of :mod:`jaxgd.plotting` and pyplot's open figures are
    restored afterwards, so calling ``main([...])`` from a test or notebook leaves no global
    state behind.
    """

    @functools.wraps(main)
    def wrapper(argv: Sequence[str] | None = None) -> int:
        with warnings.catch_warnings():  # the caller's filters; showwarning restored after
            warnings.showwarning = _warning_line(set())
            x64 = bool(jax.config.jax_enable_x64)
            before = _open_figures()
            begin_run()
            notice = _still_working_notice()
            sigterms, replaced = _sigterms[0], _catch_sigterm()
            try:
                try:
                    _start_backend()
                    deliver_held_interrupt()
                    code = main(argv)
                    failed = unwritten_so_far()  # where main did not end with ctx.finish()
                    if failed:
                        raise failed[0]
                    return code
                finally:
                    # The run's background imports end inside it, so a Ctrl-C or SIGTERM
                    # while they finish (a second on the way out of a stopped run) stops it
                    # as any other: end_run's wait drops one, as a second, and a check_flags
                    # call, which ends as the imports begin, lost the first and ran on.
                    from jaxgd.plotting._common import wait_for_imports

                    wait_for_imports()
            except _FlagsChecked:  # a check_flags call: every flag is good
                return 0
            except UsageError as err:
                done = written_so_far()  # a file that failed at the end: say which were written
                also = f" Already written: {', '.join(map(str, done))}." if done else ""
                print(f"error: {err}{also}", file=sys.stderr)
                return 2
            except KeyboardInterrupt:
                terminated = _sigterms[0] > sigterms
                stopped = "terminated" if terminated else "interrupted"
                done = written_so_far()
                if done:  # those files are the new ones; the rest of the run's are not
                    print(
                        f"{stopped}; already written: {', '.join(map(str, done))}",
                        file=sys.stderr,
                    )
                else:
                    print(stopped, file=sys.stderr)
                return 143 if terminated else 130
            except MemoryError as err:
                # jaxgd's planners refuse a result that cannot fit before allocating it, and say
                # how large it is: flags asking for too much, so bad input. A bare MemoryError is
                # the allocator's own.
                text = " ".join(str(err).split()) or "out of memory"
                print(f"error: {text} Ask for fewer runs or epochs.", file=sys.stderr)
                return 2
            except SystemExit as exit_:  # argparse's -h
                return exit_.code if isinstance(exit_.code, int) else 0
            except BrokenPipeError:
                # Output piped into `head` and cut short: not an error worth a traceback. Point
                # stdout at devnull so the interpreter's final flush does not raise again.
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
                return 1
            finally:
                if replaced is not None:  # a SIGTERM after the run ends the process at once
                    signal.signal(signal.SIGTERM, replaced)
                if notice is not None:
                    notice.cancel()
                jax.config.update("jax_enable_x64", x64)
                end_run()
                if "matplotlib.pyplot" in sys.modules:
                    import matplotlib.pyplot as plt

                    for n in _open_figures() - before:
                        plt.close(n)

    return wrapper


def _start_backend() -> None:
    """Start JAX's backend now (once a process): one that cannot start, as one named by
    ``JAX_PLATFORMS`` that is not installed, is a line naming the fix, not a traceback from
    the first computation."""
    try:
        jax.devices()
    except (RuntimeError, AssertionError) as err:  # Assertion: "cuda" without its plugin
        reason = " ".join(str(err).split()) or "JAX gave no reason"
        platforms = os.environ.get("JAX_PLATFORMS")
        if platforms:
            raise UsageError(
                f"JAX_PLATFORMS={platforms!r}: JAX cannot start it ({reason}); unset it, or "
                "set JAX_PLATFORMS=cpu."
            ) from None
        raise UsageError(
            f"JAX cannot start a backend ({reason}); set JAX_PLATFORMS=cpu to run on the CPU."
        ) from None


#: SIGTERMs received while a run's handler (:func:`_on_sigterm`) was in place.
_sigterms = [0]


def _on_sigterm(signum: int, frame: Any) -> None:
    """SIGTERM during a run: counted, so :func:`command` reports it as ``terminated`` and
    status 143 (128 + SIGTERM), and raised as KeyboardInterrupt, so it stops the run as Ctrl-C
    does (the file being written is removed; those finished stay). Counted as a Ctrl-C too
    inside the engine's interruptible calls, so one dropped on its way (in a garbage-collection
    callback) is raised again at the next wait."""
    _sigterms[0] += 1
    _run._on_sigint(signum, frame)


def _catch_sigterm() -> Any:
    """Install :func:`_on_sigterm` where SIGTERM would end the process on the spot (Python's
    default), in the main thread; returns the handler it replaced, or None where it left an
    ignored SIGTERM, or a handler of the program's own (or an outer run's), in place."""
    if (
        hasattr(signal, "SIGTERM")
        and threading.current_thread() is threading.main_thread()
        and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    ):
        return signal.signal(signal.SIGTERM, _on_sigterm)
    return None


def _warning_line(seen: set[str]) -> Callable[..., None]:
    """A ``warnings.showwarning`` for a run: ``warning: MESSAGE`` on stderr, each message
    once (a warning raised by each of several calls says the same thing)."""

    def show(message: Any, category: Any, filename: str, lineno: int, *_: Any) -> None:
        text = " ".join(str(message).split())
        if text not in seen:
            seen.add(text)
            print(f"warning: {text}", file=sys.stderr)

    return show


#: Seconds of silence after which a run on a terminal says it is still working.
STILL_WORKING_S = 5.0


def _still_working_notice() -> threading.Timer | None:
    """A line on stderr if the run is still going after :data:`STILL_WORKING_S` seconds, on a
    terminal only: a function that compiles slowly (a long Python loop in f is unrolled into
    the program) printed nothing for tens of seconds, and looked hung."""
    try:
        terminal = sys.stderr.isatty()
    except (AttributeError, ValueError):  # replaced or closed
        terminal = False
    if not terminal:
        return None

    def say() -> None:
        print(
            "still working: a new f is compiled on its first run (the compiled code is kept "
            "for the next); large grids take longer. Ctrl-C stops.",
            file=sys.stderr,
            flush=True,
        )

    timer = threading.Timer(STILL_WORKING_S, say)
    timer.daemon = True
    timer.start()
    return timer


def deliver_held_interrupt() -> None:
    """Let a Ctrl-C or SIGTERM through that this thread holds back, raising KeyboardInterrupt
    now if one came while it was held.

    ``python -m experiments.<name>`` holds SIGINT and SIGTERM (blocks them) from the moment
    the package ``experiments`` is imported, before JAX is: a KeyboardInterrupt raised while
    extension modules initialise can crash the interpreter, and SIGTERM's default action
    ended the process without a word. :func:`command` installs its SIGTERM handler and then
    calls this, so a Ctrl-C or SIGTERM during the imports stops the run there, with the one
    line ``interrupted`` or ``terminated``. JAX's backends are initialised before the hold
    ends: interrupted there, JAX leaves a 60-second timer behind that the exit waits for.
    SIGINT is let through only where Python handles it itself (not where an embedding
    program installed its own handler); nothing happens where neither is held, off the main
    thread, or where the platform has no signal masks.
    """
    if (
        not hasattr(signal, "pthread_sigmask")
        or threading.current_thread() is not threading.main_thread()
    ):
        return
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, ())
    held = {signal.SIGTERM} & mask
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        held |= {signal.SIGINT} & mask
    if held:
        jax.devices()
        signal.pthread_sigmask(signal.SIG_UNBLOCK, held)


def run(main: Callable[[], int | None]) -> NoReturn:
    """Run ``main()`` as the program and exit with the status it returns.

    An experiment module ends with ``if __name__ == "__main__": cli.run(main)``. It is
    ``sys.exit(main())``, except that a run that ended well (status 0) skips the
    interpreter's last garbage collections: with JAX and matplotlib loaded, they take about
    0.3 s of every exit to free memory the OS takes back anyway. ``gc.freeze()`` puts every
    object out of the collector's reach first; objects are still released as their last
    reference goes, ``atexit`` handlers run and the standard streams are flushed, as at any
    exit. Only objects in reference cycles are left to the OS, and every file a run writes
    is closed before ``main`` returns. A run stopped by Ctrl-C (status 130) may leave XLA
    compiling or computing in its own threads, and the interpreter's finalisation then
    crashed in them (a segmentation fault in about half of the interrupts that landed
    there): it ends with the streams flushed and ``os._exit(130)``, which runs no
    finalisers; what it wrote was closed before ``main`` returned. A run stopped by SIGTERM
    (status 143) ends the same way. Any other status exits
    the usual way, and so does an exception from ``main`` (a traceback, status 1).

    Example:
        >>> import subprocess, sys
        >>> code = "from jaxgd import cli; cli.run(lambda: print('done') or 3)"
        >>> done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        >>> done.returncode, done.stdout
        (3, 'done\\n')
    """
    code = main()
    if code in (0, None):
        gc.freeze()
    elif code in (130, 143):
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):  # a closed or broken stream
                stream.flush()
        os._exit(code)
    sys.exit(code)


def _open_figures() -> set[int]:
    if "matplotlib.pyplot" not in sys.modules:
        return set()
    import matplotlib.pyplot as plt

    return set(plt.get_fignums())
