"""What the ``python -m experiments.<name>`` modules share: flags, ``--function``, output.

An experiment module builds its parser from :func:`parser`, adds the axes it sweeps with
:func:`add_grid_args`, and turns ``argv`` into a :class:`Context` with :func:`setup`. The
context holds the loaded function, its domain, the grids as arrays, a seeded PRNG key, and
saves figures. Decorating ``main`` with :func:`command` turns a :class:`UsageError` (a bad
flag or ``--function``) into one line on stderr and exit status 2, never a traceback::

    @cli.command
    def main(argv=None) -> int:
        p = cli.parser("experiments.start_location", __doc__)
        cli.add_grid_args(p, starts=cli.Grid(-5, 5, 50), learning_rate=0.01, epochs=1000)
        ctx = cli.setup(p, argv)
        res = jaxgd.sweep(ctx.f, ctx.starts, ctx.learning_rate, ctx.epochs)
        ctx.save(plotting.plot_final(res), "start_location")
        return ctx.finish()

``--function`` takes a built-in name from :mod:`jaxgd.functions` or ``module:attr`` naming a
user's own ``f`` (imported with the current directory on ``sys.path``). The attribute may be
a plain function, optionally carrying a ``domain = (lo, hi)`` attribute, or a
:class:`jaxgd.functions.Function1D`. Without a domain, the notebook's ``[-2π, 2π]`` is used.

Importing this module does not import matplotlib: :func:`setup` does, to pick the headless
Agg backend unless ``--show`` is given, and saving or showing a figure does.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import functools
import importlib
import math
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jax
import numpy as np

from jaxgd import analysis, functions
from jaxgd._validate import as_epochs, as_float_axis, check_function, default_float

if TYPE_CHECKING:
    from matplotlib.figure import Figure

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
    "command",
    "flag_errors",
    "load_derivative",
    "load_function",
    "num",
    "parser",
    "save_figure",
    "setup",
    "whole",
]

#: The function experiments descend unless ``--function`` says otherwise.
DEFAULT_FUNCTION = "notebook"
#: The notebook's plotting interval, used for a user's ``f`` that declares no domain.
NOTEBOOK_DOMAIN = (-2.0 * math.pi, 2.0 * math.pi)
#: Figure file formats ``--format`` accepts.
FORMATS = ("png", "svg", "pdf")
#: Resolution of saved PNGs: readable on screen, small enough to commit.
DPI = 120


class UsageError(Exception):
    """A bad command-line flag or ``--function``: reported as one line, exit status 2."""


@dataclass(frozen=True)
class Grid:
    """``num`` evenly spaced values from ``lo`` to ``hi``, as a flag ``LO HI N`` gives them.

    Example:
        >>> Grid(10, 500, 3).values(whole=True)
        array([ 10., 255., 500.])
    """

    lo: float
    hi: float
    num: int

    def values(self, *, whole: bool = False) -> np.ndarray:
        """The grid as a float64 array; ``whole=True`` rounds to whole numbers (epochs)."""
        out = np.linspace(self.lo, self.hi, self.num)
        return np.round(out) if whole else out

    def __str__(self) -> str:
        return f"{self.lo:g} {self.hi:g} {self.num}"


# -- parsing ---------------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are a :class:`UsageError`, reported by :func:`command`."""

    def error(self, message: str):
        raise UsageError(f"{message} (see {self.prog} -h)")


def parser(name: str, doc: str | None) -> argparse.ArgumentParser:
    """A parser with the flags every experiment takes.

    Args:
        name: the module's ``__name__`` (``"__main__"`` is resolved to the module's real
            name); ``-h`` shows the program as ``python -m name``.
        doc: the module docstring, shown by ``-h``; its first line is the summary.

    Returns:
        An :class:`argparse.ArgumentParser` with ``--function``, ``--domain``, ``--tol``,
        ``--seed``, ``--x64``, ``--out``, ``--format`` and ``--show``. Add the axes with
        :func:`add_grid_args`, then call :func:`setup`.
    """
    if name == "__main__":
        # Run as `python -m experiments.x`: the module's real name is on its spec.
        spec = getattr(sys.modules["__main__"], "__spec__", None)
        name = spec.name if spec is not None else Path(sys.argv[0]).stem
    p = _Parser(
        prog=f"python -m {name}",
        description=doc,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    g = p.add_argument_group("function")
    g.add_argument(
        "--function",
        metavar="NAME|MODULE:ATTR",
        default=DEFAULT_FUNCTION,
        help=(
            f"f to descend: a built-in ({', '.join(functions.names())}; default "
            f"{DEFAULT_FUNCTION}, the notebook's sin(x)*exp(-0.05x^2)) or module:attr for your "
            "own f(x) -> scalar written with jax.numpy, imported from the current directory "
            "(no derivative needed). It may carry a `domain = (lo, hi)` attribute."
        ),
    )
    g.add_argument(
        "--domain",
        nargs=2,
        metavar=("LO", "HI"),
        default=None,
        help=(
            "interval to draw f on, draw random starts from and search for minima in "
            "(default: the function's domain; [-2pi, 2pi] for the notebook's f and for "
            "your own f without a domain attribute)"
        ),
    )
    g.add_argument(
        "--tol",
        default="1e-3",
        metavar="TOL",
        help="a run has reached a minimum when it ends within TOL of it (default 1e-3)",
    )
    o = p.add_argument_group("run and output")
    o.add_argument(
        "--seed",
        default="0",
        metavar="INT",
        help="seed of the jax.random key for random starts (default 0)",
    )
    o.add_argument(
        "--x64",
        action="store_true",
        help="compute in float64 (default float32, JAX's default)",
    )
    o.add_argument(
        "--out",
        type=Path,
        default=Path("figures"),
        metavar="DIR",
        help="folder to write figures into, created if needed (default figures/)",
    )
    o.add_argument(
        "--format",
        choices=FORMATS,
        default="png",
        help="figure file format (default png)",
    )
    o.add_argument(
        "--show",
        action="store_true",
        help="also open each figure in a window (default: only write files)",
    )
    return p


_SINGLE = {
    "start": ("--start", "X", "start point"),
    "learning_rate": ("--learning-rate", "R", "learning rate"),
    "epochs": ("--epochs", "N", "number of training epochs (descent steps)"),
}
_GRID = {
    "starts": ("--starts", "start points"),
    "learning_rates": ("--learning-rates", "learning rates"),
    "epochs": ("--epochs", "epoch counts"),
}


def add_grid_args(
    p: argparse.ArgumentParser,
    *,
    starts: Grid | None = None,
    start: float | str | None = None,
    learning_rates: Grid | None = None,
    learning_rate: float | None = None,
    epochs: Grid | int | None = None,
) -> None:
    """Add the flags of the axes an experiment uses, with the notebook's defaults.

    Each axis is either swept (give a :class:`Grid`; the flag takes ``LO HI N``) or fixed
    (give a number; the flag takes one value). Give ``starts`` or ``start``, and
    ``learning_rates`` or ``learning_rate``, not both. ``start="random"`` makes the default
    start a seeded random point of the domain, as the notebook's ``np.random.choice(x)``.

    The default start grid follows the function: the given grid for the notebook's function
    (and a user's ``f`` without a domain), the function's domain with the same number of points
    otherwise. A fixed start of 0 outside the domain becomes the domain's midpoint.

    Read the values back from :class:`Context` (``ctx.starts``, ``ctx.learning_rate``, ...).
    """
    if starts is not None and start is not None:
        raise TypeError("add_grid_args: give starts (a Grid) or start (a number), not both.")
    if learning_rates is not None and learning_rate is not None:
        raise TypeError("add_grid_args: give learning_rates or learning_rate, not both.")
    g = p.add_argument_group("grid")
    defaults: dict[str, Any] = {}
    swept = {"starts": starts, "learning_rates": learning_rates}
    if isinstance(epochs, Grid):
        swept["epochs"] = epochs
    for dest, grid in swept.items():
        if grid is None:
            continue
        flag, what = _GRID[dest]
        note = "; for a function with its own domain: that domain" if dest == "starts" else ""
        rounded = ", rounded to whole numbers" if dest == "epochs" else ""
        g.add_argument(
            flag,
            dest=dest,
            nargs=3,
            metavar=("LO", "HI", "N"),
            default=None,
            help=f"N {what} evenly spaced from LO to HI{rounded} (default {grid}{note})",
        )
        defaults[dest] = grid
    fixed = {"start": start, "learning_rate": learning_rate}
    if epochs is not None and not isinstance(epochs, Grid):
        fixed["epochs"] = epochs
    for dest, value in fixed.items():
        if value is None:
            continue
        flag, metavar, what = _SINGLE[dest]
        shown = "a seeded random point of the domain" if value == "random" else f"{value:g}"
        g.add_argument(
            flag, dest=dest, metavar=metavar, default=None, help=f"{what} (default {shown})"
        )
        defaults[dest] = value
    p.set_defaults(_grid_defaults=defaults)


def add_color_args(p: argparse.ArgumentParser) -> None:
    """Add ``--vmin``/``--vmax``: colour limits of heatmaps (default: robust, from the data)."""
    g = p.add_argument_group("colour")
    g.add_argument(
        "--vmin",
        default=None,
        metavar="V",
        help="lower colour limit (default: 2nd percentile of the finite values)",
    )
    g.add_argument(
        "--vmax",
        default=None,
        metavar="V",
        help="upper colour limit (default: 98th percentile of the finite values)",
    )


# -- --function ------------------------------------------------------------------------------


@contextlib.contextmanager
def _cwd_on_path() -> Iterator[None]:
    # `python -m` puts the current directory on sys.path, but an in-process caller may not.
    cwd = os.getcwd()
    added = cwd not in sys.path and "" not in sys.path
    if added:
        sys.path.insert(0, cwd)
    try:
        yield
    finally:
        if added:
            with contextlib.suppress(ValueError):
                sys.path.remove(cwd)


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0]}" if text else type(err).__name__


def _import_attr(spec: str, flag: str = "--function", name: str = "f") -> Any:
    """``module:attr`` imported for ``flag``; every failure is one line naming ``flag``.

    ``name`` is what the attribute is usually called (``f``, ``df``), for the example.
    """
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise UsageError(
            f"{flag} {spec!r}: write module:attr, e.g. mymodule:{name} for `def {name}(x)` in "
            "mymodule.py in the current directory."
        )
    try:
        with _cwd_on_path():
            module = importlib.import_module(module_name)
    except ModuleNotFoundError as err:
        if err.name and (module_name + ".").startswith(err.name + "."):
            raise UsageError(
                f"{flag} {spec!r}: no module named {err.name!r} (looked in the current "
                f"directory {os.getcwd()} and the installed packages); run from the folder "
                "that holds it, or check the spelling."
            ) from None
        raise UsageError(
            f"{flag} {spec!r}: importing {module_name} failed: {_first_line(err)}"
        ) from None
    except Exception as err:  # the user's module itself fails to import
        raise UsageError(
            f"{flag} {spec!r}: importing {module_name} failed: {_first_line(err)}"
        ) from None
    obj: Any = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            public = sorted(
                n for n, v in vars(module).items() if callable(v) and not n.startswith("_")
            )
            hint = f" (its callables: {', '.join(public[:8])})" if public else ""
            raise UsageError(
                f"{flag} {spec!r}: module {module_name} has no attribute {attr!r}{hint}."
            )
        obj = getattr(obj, part)
    return obj


def _domain_of(spec: str, value: Any) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in value)
    except (TypeError, ValueError):
        raise UsageError(
            f"--function {spec!r}: its domain attribute must be two numbers (lo, hi); "
            f"got {value!r}."
        ) from None
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise UsageError(
            f"--function {spec!r}: its domain must be finite with lo < hi; got ({lo}, {hi})."
        )
    return lo, hi


def load_function(spec: str) -> functions.Function1D:
    """The function ``--function spec`` names, checked by tracing it once on a scalar.

    Args:
        spec: a built-in name from :func:`jaxgd.functions.names`, or ``module:attr`` naming a
            callable ``f(x) -> scalar`` (or a :class:`~jaxgd.functions.Function1D`). The
            module is imported with the current directory on ``sys.path``. A callable's
            optional ``domain = (lo, hi)`` attribute becomes the domain; without it, the
            notebook's ``[-2π, 2π]``.

    Returns:
        A :class:`~jaxgd.functions.Function1D`.

    Raises:
        UsageError: the module or attribute does not exist, is not callable, or ``f`` does not
            trace to a real scalar (non-scalar output, written with NumPy, ...). The message is
            one line that names ``--function`` and the fix.

    Example:
        >>> load_function("double_well").domain
        (-2.0, 2.0)
        >>> load_function("jaxgd.functions:plateau").name
        'jaxgd.functions:plateau'
        >>> load_function("nope")
        Traceback (most recent call last):
        ...
        jaxgd.cli.UsageError: --function 'nope': not a built-in function (...)...
    """
    if ":" not in spec:
        if spec in functions.FUNCTIONS:
            fn = functions.get(spec)
        else:
            raise UsageError(
                f"--function {spec!r}: not a built-in function (built-ins: "
                f"{', '.join(functions.names())}); for your own f write module:attr, "
                "e.g. mymodule:f."
            )
    else:
        obj = _import_attr(spec)
        if isinstance(obj, functions.Function1D):
            fn = obj
        elif callable(obj):
            domain = _domain_of(spec, obj.domain) if hasattr(obj, "domain") else NOTEBOOK_DOMAIN
            doc = (getattr(obj, "__doc__", None) or "").strip().splitlines()
            fn = functions.Function1D(spec, obj, domain, doc[0] if doc else "your own f")
        else:
            raise UsageError(
                f"--function {spec!r}: {type(obj).__name__} is not callable; point it at a "
                "function f(x) -> scalar written with jax.numpy."
            )
    try:
        check_function(fn.f, default_float(), name=f"--function {spec!r}")
    except (TypeError, ValueError) as err:
        raise UsageError(str(err)) from None
    except Exception as err:  # f itself raises when traced: report it, don't dump a trace
        raise UsageError(
            f"--function {spec!r}: calling f on a scalar failed: {_first_line(err)}"
        ) from None
    return fn


def load_derivative(spec: str) -> Callable[[Any], Any]:
    """The hand-written derivative ``--derivative spec`` names: ``module:attr``, imported.

    Imported like ``--function module:attr`` (current directory on ``sys.path``). The callable
    may use NumPy or ``jax.numpy``; whether it returns real numbers is checked where it is
    first evaluated (:func:`jaxgd.derivative.check_derivative`), under :func:`flag_errors`.

    Raises:
        UsageError: the module or attribute does not exist or is not callable; one line
            that names ``--derivative`` and the fix.

    Example:
        >>> load_derivative("numpy:cos")(0.0)
        np.float64(1.0)
        >>> load_derivative("numpy:pi")
        Traceback (most recent call last):
        ...
        jaxgd.cli.UsageError: --derivative 'numpy:pi': float is not callable; ...
    """
    obj = _import_attr(spec, flag="--derivative", name="df")
    if not callable(obj):
        raise UsageError(
            f"--derivative {spec!r}: {type(obj).__name__} is not callable; point it at your "
            "derivative df(x), written with NumPy or jax.numpy."
        )
    return obj


@contextlib.contextmanager
def flag_errors(flag: str) -> Iterator[None]:
    """Turn a ``ValueError``/``TypeError`` raised inside into a :class:`UsageError` on ``flag``.

    Use it around library validation of values that came from a flag, so the user sees which
    flag to fix.

    Example:
        >>> with flag_errors("--tol"):
        ...     float("abc")
        Traceback (most recent call last):
        ...
        jaxgd.cli.UsageError: --tol: could not convert string to float: 'abc'
    """
    try:
        yield
    except (TypeError, ValueError) as err:
        raise UsageError(f"{flag}: {str(err).strip().splitlines()[0]}") from None


# -- the parsed run --------------------------------------------------------------------------


def _number(flag: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise UsageError(f"{flag}: expected a number, got {text!r}.") from None
    if not math.isfinite(value):
        raise UsageError(f"{flag}: expected a finite number, got {text!r}.")
    return value


def whole(flag: str, text: str, *, minimum: int = 0) -> int:
    """The whole number ``flag`` was given as ``text``, at least ``minimum``.

    Raises:
        UsageError: ``text`` is not a whole number >= ``minimum``.

    Example:
        >>> whole("--repeats", "1e2", minimum=1)
        100
    """
    value = _number(flag, text)
    if value != round(value) or value < minimum:
        raise UsageError(f"{flag}: expected a whole number >= {minimum}, got {text!r}.")
    return int(value)


def _grid(flag: str, texts: Sequence[str]) -> Grid:
    lo, hi = _number(flag, texts[0]), _number(flag, texts[1])
    num = whole(f"{flag} N", texts[2], minimum=1)
    if lo > hi:
        raise UsageError(f"{flag}: LO must not exceed HI; got {lo:g} > {hi:g}. Swap them.")
    return Grid(lo, hi, num)


def num(value: Any) -> str:
    """A number as the summaries print it: 6 significant digits.

    Example:
        >>> num(-1.4288700001), num(1e-10), num(500.0)
        ('-1.42887', '1e-10', '500')
    """
    return f"{float(value):.6g}"


class Context:
    """A parsed experiment run: the function, its domain, the grids, the key, the output.

    Made by :func:`setup`. Attributes: ``args`` (the argparse namespace), ``function``
    (a :class:`~jaxgd.functions.Function1D`), ``f``, ``domain`` (``(lo, hi)``), ``tol``,
    ``key`` (a ``jax.random`` key from ``--seed``), ``seed``, ``vmin``/``vmax`` (when
    :func:`add_color_args` was used) and ``written`` (the paths saved so far). The grid
    properties return concrete arrays of the default float dtype (epochs as integers).
    """

    def __init__(self, args: argparse.Namespace, function: functions.Function1D) -> None:
        self.args = args
        self.function = function
        self.f = function.f
        self.written: list[Path] = []
        self._figures: list[Figure] = []
        self._minima: Minima | None = None
        self._defaults: dict[str, Any] = getattr(args, "_grid_defaults", {})
        self.seed = whole("--seed", args.seed, minimum=0)
        self.key = jax.random.key(self.seed)
        self.tol = _number("--tol", args.tol)
        if self.tol <= 0:
            raise UsageError(f"--tol: must be > 0, got {args.tol!r}.")
        # The notebook's own grids are for the notebook's f; another f's grids follow its domain.
        self.own_domain = args.domain is not None or (
            function.name != DEFAULT_FUNCTION and function.domain != NOTEBOOK_DOMAIN
        )
        if args.domain is not None:
            lo, hi = (_number("--domain", t) for t in args.domain)
            if not lo < hi:
                raise UsageError(f"--domain: LO must be below HI; got {lo:g} and {hi:g}.")
            self.domain = (lo, hi)
        else:
            self.domain = tuple(float(v) for v in function.domain)
        self.vmin = _number("--vmin", args.vmin) if getattr(args, "vmin", None) else None
        self.vmax = _number("--vmax", args.vmax) if getattr(args, "vmax", None) else None
        if self.vmin is not None and self.vmax is not None and not self.vmin < self.vmax:
            raise UsageError(f"--vmin must be below --vmax; got {self.vmin:g} and {self.vmax:g}.")
        # Validate every grid now, so a bad flag fails before anything is compiled.
        for name in self._defaults:
            getattr(self, name)

    # grids, validated with the library's own checks and reported under the flag's name
    def _grid_values(self, dest: str) -> np.ndarray:
        flag = _GRID[dest][0]
        given = getattr(self.args, dest)
        if given is not None:
            grid = _grid(flag, given)
        else:
            grid = self._defaults[dest]
            if dest == "starts" and self.own_domain:
                grid = Grid(self.domain[0], self.domain[1], grid.num)
        with flag_errors(flag):
            if dest == "epochs":
                return as_epochs("epochs", grid.values(whole=True))
            return as_float_axis(dest, grid.values(), default_float(), nonnegative=dest != "starts")

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
        value = _number(flag, given)
        if dest == "learning_rate" and value < 0:
            raise UsageError(f"{flag}: must be >= 0, got {given!r} (to maximise f, descend -f).")
        return value

    def _has(self, dest: str) -> None:
        if dest not in self._defaults:
            raise AttributeError(f"this experiment has no {dest!r} axis; add it in add_grid_args")

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
    def start(self) -> float:
        """``--start``; by default the notebook's start (0, or a seeded random grid point)."""
        self._has("start")
        given = self._single("start")
        if given is not None:
            return given
        default = self._defaults["start"]
        lo, hi = self.domain
        if default == "random":
            # The notebook: np.random.choice(x) over its 401-point plotting grid x.
            grid = np.linspace(lo, hi, 401)
            return float(grid[int(jax.random.randint(self.key, (), 0, grid.size))])
        return float(default) if lo <= default <= hi else 0.5 * (lo + hi)

    @property
    def start_is_random(self) -> bool:
        """True when the start was drawn at random (``--start`` not given, default random)."""
        return getattr(self.args, "start", None) is None and self._defaults.get("start") == "random"

    @property
    def minima(self) -> Minima:
        """Every local minimum of f on the domain (:func:`jaxgd.minima.find_minima`).

        A location within a few float epsilons of 0 is reported as exactly 0 (with f there),
        so a minimum at the origin does not print as 3e-11.
        """
        if self._minima is None:
            from jaxgd.minima import find_minima

            m = find_minima(self.f, *self.domain)
            x = np.asarray(m.x)
            scale = max(1.0, *(abs(v) for v in self.domain))
            snap = np.abs(x) < 4 * np.finfo(x.dtype).eps * scale
            if snap.any():
                x = np.where(snap, 0.0, x).astype(x.dtype)
                value = np.where(snap, np.asarray(jax.vmap(self.f)(x)), np.asarray(m.value))
                m = dataclasses.replace(m, x=jax.numpy.asarray(x), value=jax.numpy.asarray(value))
            self._minima = m
        return self._minima

    @property
    def global_minima(self) -> np.ndarray:
        """Indices into ``minima.x`` of the global minima (ties included), lowest first."""
        return analysis.global_minima(self.minima)

    @property
    def global_minimum(self) -> tuple[float, float] | None:
        """``(x, f(x))`` of the lowest stationary minimum on the domain, or None if there is none.

        An end of the domain is not counted: descent does not stop there.
        """
        g = self.global_minima
        return None if g.size == 0 else (float(self.minima.x[g[0]]), float(self.minima.value[g[0]]))

    # -- summary text --------------------------------------------------------------------------
    @property
    def domain_text(self) -> str:
        """The domain as ``[lo, hi]``."""
        return f"[{num(self.domain[0])}, {num(self.domain[1])}]"

    def describe_function(self) -> str:
        """One line: which f, and what it is."""
        fn = self.function
        return f"f: {fn.name} ({fn.description})" if fn.description else f"f: {fn.name}"

    def describe_minima(self) -> str:
        """One line listing the stationary local minima of f on the domain, global first."""
        m, best = self.minima, set(self.global_minima.tolist())
        if not best:
            return f"f has no local minimum inside {self.domain_text} (other than an end)"
        keep = [i for i in range(len(m)) if not bool(m.at_boundary[i])]
        keep.sort(key=lambda i: (i not in best, float(m.x[i])))
        parts = [
            f"x = {num(m.x[i])} (f = {num(m.value[i])}{', global' if i in best else ''})"
            for i in keep
        ]
        return f"local minima of f on {self.domain_text}: {', '.join(parts)}"

    def ended_at(self, x: Any) -> str:
        """Where a run that ended at ``x`` stopped, as a sentence about "the run"."""
        if not np.isfinite(float(x)):
            return "the run diverged"
        (i,) = analysis.nearest_minimum([x], self.minima, tol=self.tol)
        if i < 0:
            inner = np.asarray(self.minima.x)[~np.asarray(self.minima.at_boundary)]
            if inner.size == 0:
                return f"f has no local minimum inside {self.domain_text} for the run to reach"
            near = inner[np.argmin(np.abs(inner - float(x)))]
            return (
                f"the run is within {num(self.tol)} of no local minimum: the nearest, "
                f"x = {num(near)}, is {num(abs(near - float(x)))} away"
            )
        if i in self.global_minima:
            return f"the run reached the global minimum x = {num(self.minima.x[i])}"
        return f"the run reached the local minimum x = {num(self.minima.x[i])}, not a global one"

    def tally(
        self,
        final: Any,
        *,
        noun: str,
        coords: tuple[str, Any] | None = None,
    ) -> list[str]:
        """Summary lines counting the runs that reached each minimum, none, or diverged.

        Args:
            final: final guesses, any shape (non-finite ones count as diverged).
            noun: what one run is called, plural ("starts", "rates", "cells").
            coords: optional ``(name, values)`` of the same shape as ``final``: each minimum's
                line then says over which range of ``name`` runs reached it.
        """
        final = np.asarray(final, np.float64)
        n = final.size
        diverged = ~np.isfinite(final)
        which = analysis.nearest_minimum(final, self.minima, tol=self.tol)
        best = set(self.global_minima.tolist())
        lines = []
        for i in sorted(set(which[which >= 0].tolist()) | best, key=lambda i: (i not in best, i)):
            hit = which == i
            where = ""
            if coords is not None and hit.any():
                values = np.asarray(coords[1], np.float64)[hit]
                where = f", {coords[0]} {num(values.min())} to {num(values.max())}"
            lines.append(
                f"reached the {'global' if i in best else 'local'} minimum x = "
                f"{num(self.minima.x[i])} (within {num(self.tol)}): {int(hit.sum())} of {n} "
                f"{noun}{where}"
            )
        rest = (which < 0) & ~diverged
        if rest.any():
            lines.append(
                f"within {num(self.tol)} of no minimum on {self.domain_text}: {int(rest.sum())} "
                f"of {n} {noun} (final guesses {num(final[rest].min())} to "
                f"{num(final[rest].max())})"
            )
        lines.append(f"diverged: {int(diverged.sum())} of {n} {noun}")
        return lines

    # -- output ------------------------------------------------------------------------------
    def save(self, fig: Figure, name: str) -> Path:
        """Write ``fig`` as ``<out>/<name>.<format>``, remember it, and return its path."""
        path = save_figure(fig, self.args.out, name, self.args.format)
        self.written.append(path)
        self._figures.append(fig)
        return path

    def finish(self) -> int:
        """Print the paths written, show the figures if ``--show``, close them; returns 0."""
        for path in self.written:
            print(f"wrote {path}")
        try:
            if self.args.show and self._figures:
                _show()
        finally:
            _close(self._figures)
        return 0


def setup(p: argparse.ArgumentParser, argv: Sequence[str] | None = None) -> Context:
    """Parse ``argv``, switch on x64 if asked, load ``--function`` and check every flag.

    Everything a flag could get wrong is checked here, before anything is compiled, and
    raised as a :class:`UsageError`. Unless ``--show`` is given, matplotlib is set to its
    non-interactive Agg backend (when pyplot is not in use yet), so runs are headless.
    """
    args = p.parse_args(argv)
    if args.x64:
        # Before any array exists, so every grid and result is float64.
        jax.config.update("jax_enable_x64", True)
    if not args.show and "matplotlib.pyplot" not in sys.modules:
        import matplotlib

        matplotlib.use("Agg")
    return Context(args, load_function(args.function))


def save_figure(fig: Figure, out: str | os.PathLike, name: str, fmt: str = "png") -> Path:
    """Save ``fig`` as ``out/name.fmt`` (PNG at 120 dpi), creating ``out``; returns the path.

    Example:
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> from matplotlib.figure import Figure
        >>> import tempfile
        >>> fig = Figure()
        >>> _ = fig.subplots().plot([0, 1])
        >>> save_figure(fig, tempfile.mkdtemp(), "demo", "svg").name
        'demo.svg'
    """
    if fmt not in FORMATS:
        raise ValueError(f"fmt must be one of {', '.join(FORMATS)}; got {fmt!r}.")
    path = Path(out) / f"{name}.{fmt}"
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI, bbox_inches="tight")
    return path


#: matplotlib's built-in backends that write files and cannot open a window.
_FILE_BACKENDS = {"agg", "cairo", "pdf", "pgf", "ps", "svg", "template"}


def _show() -> None:
    import matplotlib.pyplot as plt

    if plt.get_backend().lower() in _FILE_BACKENDS:
        print(
            f"--show: no window can open here (matplotlib backend {plt.get_backend()!r}); "
            "the figures are in the files above."
        )
        return
    plt.show()


def _close(figs: Sequence[Figure]) -> None:
    if "matplotlib.pyplot" in sys.modules:
        import matplotlib.pyplot as plt

        for fig in figs:
            plt.close(fig)


def command(main: Callable[[Sequence[str] | None], int]) -> Callable[..., int]:
    """Wrap an experiment's ``main(argv) -> int`` for the command line and in-process calls.

    A :class:`UsageError` becomes one line on stderr and return value 2; ``-h`` returns 0
    instead of exiting; the x64 setting and pyplot's open figures are restored afterwards,
    so calling ``main([...])`` from a test or notebook leaves no global state behind.
    """

    @functools.wraps(main)
    def wrapper(argv: Sequence[str] | None = None) -> int:
        x64 = bool(jax.config.jax_enable_x64)
        before = _open_figures()
        try:
            return main(argv)
        except UsageError as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
        except SystemExit as exit_:  # argparse's -h
            return exit_.code if isinstance(exit_.code, int) else 0
        except BrokenPipeError:
            # Output piped into `head` and cut short: not an error worth a traceback. Point
            # stdout at devnull so the interpreter's final flush does not raise again.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 1
        finally:
            jax.config.update("jax_enable_x64", x64)
            if "matplotlib.pyplot" in sys.modules:
                import matplotlib.pyplot as plt

                for num in _open_figures() - before:
                    plt.close(num)

    return wrapper


def _open_figures() -> set[int]:
    if "matplotlib.pyplot" not in sys.modules:
        return set()
    import matplotlib.pyplot as plt

    return set(plt.get_fignums())
