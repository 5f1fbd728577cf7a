"""Flag parsing for the experiments: the shared parser, grid flags and number checks.

Every check raises :class:`UsageError`, which :func:`jaxgd.cli.command` prints as one line with
exit status 2. Numbers are read with Python's ``float`` (``1e-3``, ``-1e-3``, ``1_000``, ``+3``,
``.5`` all work, negative ones included) and refused when they are not finite or round away.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import math
import os
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import jax
import numpy as np

from jaxgd import _compile_cache, _npz, fastmath, functions

__all__ = [
    "DEFAULT_FUNCTION",
    "FORMATS",
    "Grid",
    "UsageError",
    "add_color_args",
    "add_grid_args",
    "flag_errors",
    "in_dtype",
    "number",
    "parse_run",
    "parser",
    "whole",
]

#: The function experiments descend unless ``--function`` says otherwise.
DEFAULT_FUNCTION = "notebook"
#: Figure file formats ``--format`` accepts.
FORMATS = ("png", "svg", "pdf")
#: Largest ``--seed``: jax.random.key takes a signed 64-bit integer.
MAX_SEED = 2**63 - 1
#: Largest ``--vmin``/``--vmax`` in size: matplotlib's tick locators overflow near 1.8e308.
MAX_COLOR_LIMIT = 1e300


class UsageError(Exception):
    """A bad command-line flag or ``--function``: reported as one line, exit status 2."""


# -- numbers ---------------------------------------------------------------------------------


def _shown(text: str) -> str:
    return repr(text.strip())


def number(flag: str, text: str) -> float:
    """The finite float ``flag`` was given as ``text`` (any form Python's ``float`` reads).

    A value so small that it rounds to 0 even in float64 is refused rather than silently
    becoming 0.

    Example:
        >>> number("--start", "-1e-3"), number("--epochs", "1_000"), number("--x", "+.5")
        (-0.001, 1000.0, 0.5)
        >>> number("--learning-rate", "1e-400")
        Traceback (most recent call last):
        ...
        jaxgd._cli_flags.UsageError: --learning-rate: '1e-400' is too small for float64 ...
    """
    try:
        value = float(text)
    except ValueError:
        raise UsageError(f"{flag}: expected a number, got {_shown(text)}.") from None
    if not math.isfinite(value):
        raise UsageError(f"{flag}: expected a finite number, got {_shown(text)}.")
    if value == 0:
        with contextlib.suppress(InvalidOperation):
            if Decimal(text.strip().replace("_", "")) != 0:
                raise UsageError(
                    f"{flag}: {_shown(text)} is too small for float64 (it rounds to 0); "
                    "use 0 if you mean 0, or a value above 1e-300."
                )
    return value


def in_dtype(flag: str, value: float, dtype: Any) -> float:
    """``value``, checked to keep its meaning in the working float ``dtype``: refused if it
    rounds to 0 or overflows there.

    Example:
        >>> in_dtype("--start", 1e39, np.float32)
        Traceback (most recent call last):
        ...
        jaxgd._cli_flags.UsageError: --start: 1e+39 does not fit in float32 ...
    """
    dtype = np.dtype(dtype)
    with np.errstate(over="ignore", under="ignore"):
        cast = dtype.type(value)
    if not np.isfinite(cast):
        raise UsageError(
            f"{flag}: {value:g} does not fit in {dtype} (largest {np.finfo(dtype).max:.3g}); "
            "use a smaller value" + (" or --x64 for float64." if dtype.itemsize < 8 else ".")
        )
    if value != 0 and cast == 0:
        raise UsageError(
            f"{flag}: {value:g} rounds to 0 in {dtype} (smallest "
            f"{np.finfo(dtype).smallest_subnormal:.3g}); "
            "use a larger value" + (" or --x64 for float64." if dtype.itemsize < 8 else ".")
        )
    return value


def span_in_dtype(source: str, lo: float, hi: float, dtype: Any) -> None:
    """Refuse an interval ``[lo, hi]`` whose width ``hi - lo`` overflows the working float
    ``dtype``: a grid or random starts over it (``lo + u * (hi - lo)``) would hold inf.
    ``source`` names where it came from (``"--domain:"``, or the user's f and its attribute).

    Example:
        >>> span_in_dtype("--domain:", -3e38, 3e38, np.float32)
        Traceback (most recent call last):
        ...
        jaxgd._cli_flags.UsageError: --domain: [-3e+38, 3e+38] is wider than float32 holds ...
    """
    dtype = np.dtype(dtype)
    with np.errstate(over="ignore"):
        width = dtype.type(hi) - dtype.type(lo)
    if not np.isfinite(width):
        raise UsageError(
            f"{source} [{lo:g}, {hi:g}] is wider than {dtype} holds (hi - lo is past "
            f"{np.finfo(dtype).max:.3g}); narrow it"
            + (", or use --x64 for float64." if dtype.itemsize < 8 else ".")
        )


def _is_dir(path: str) -> bool:
    """Whether ``path`` is a folder; False where the system cannot say (a name too long):
    the output checks then name the flag and the reason."""
    try:
        return Path(path).is_dir()
    except OSError:
        return False


def _folder(text: str) -> Path:
    """A folder flag's value, ``~`` expanded; empty is a slip (``Path("")`` would be the
    current folder)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("empty; give a folder (. for the current one)")
    return Path(os.path.expanduser(text))


def whole(flag: str, text: str, *, minimum: int = 0, maximum: int | None = None) -> int:
    """The whole number ``flag`` was given as ``text``, between ``minimum`` and ``maximum``.

    Raises:
        UsageError: ``text`` is not a whole number in range.

    Example:
        >>> whole("--repeats", "1e2", minimum=1)
        100
    """
    value = number(flag, text)
    try:  # digits are read exactly: a float holds integers only up to 2**53
        exact = int(text.strip())
    except ValueError:
        exact = None
    if exact is None and value != round(value):
        raise UsageError(f"{flag}: expected a whole number >= {minimum}, got {_shown(text)}.")
    exact = int(value) if exact is None else exact
    if exact < minimum:
        raise UsageError(f"{flag}: expected a whole number >= {minimum}, got {_shown(text)}.")
    if maximum is not None and exact > maximum:
        raise UsageError(f"{flag}: expected a whole number <= {maximum}, got {_shown(text)}.")
    return exact


def seed_key(seed: int) -> jax.Array:
    """The ``jax.random`` key of ``--seed``: every one of its 64 bits counts, with or without
    x64 (without it, ``jax.random.key`` keeps the low 32 bits, so ``2**32`` gave seed 0's run).

    Example:
        >>> import jax
        >>> bool((jax.random.key_data(seed_key(2**32)) != jax.random.key_data(seed_key(0))).any())
        True
    """
    if seed < 2**31:
        return jax.random.key(seed)
    with jax.enable_x64(True):  # the key x64 makes, whose data holds both halves
        return jax.random.key(seed)


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
        jaxgd._cli_flags.UsageError: --tol: could not convert string to float: 'abc'
    """
    try:
        yield
    except (TypeError, ValueError) as err:
        lines = str(err).strip().splitlines()
        raise UsageError(f"{flag}: {lines[0] if lines else type(err).__name__}") from None


# -- grids -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Grid:
    """``num`` values from ``lo`` to ``hi``, evenly spaced, or log-spaced with ``log=True``.

    A flag gives it as ``LO HI N`` or ``LO HI N log``.

    Example:
        >>> Grid(10, 500, 3).values(whole=True)
        array([ 10., 255., 500.])
        >>> Grid(1e-4, 1, 5, log=True).values()
        array([1.e-04, 1.e-03, 1.e-02, 1.e-01, 1.e+00])
    """

    lo: float
    hi: float
    num: int
    log: bool = False

    def values(self, *, whole: bool = False) -> np.ndarray:
        """The grid as a float64 array; ``whole=True`` rounds to whole numbers (epochs)."""
        space = np.geomspace if self.log else np.linspace
        out = space(self.lo, self.hi, self.num)
        # geomspace/linspace may miss the ends by a rounding; the user typed them exactly.
        out[0], out[-1] = self.lo, self.hi
        return np.round(out) if whole else out

    def __str__(self) -> str:
        return f"{self.lo:g} {self.hi:g} {self.num}" + (" log" if self.log else "")


def grid(flag: str, texts: Sequence[str]) -> Grid:
    """The :class:`Grid` of a flag's ``LO HI N [log]`` words, checked."""
    if len(texts) not in (3, 4) or (len(texts) == 4 and texts[3].strip().lower() != "log"):
        got = " ".join(t.strip() for t in texts)
        raise UsageError(
            f"{flag}: expected LO HI N (N evenly spaced values) or LO HI N log (log-spaced), "
            f"got {got!r}."
        )
    lo, hi = number(flag, texts[0]), number(flag, texts[1])
    n = whole(f"{flag} N", texts[2], minimum=1)
    log = len(texts) == 4
    if lo > hi:
        raise UsageError(f"{flag}: LO must not exceed HI; got {lo:g} > {hi:g}. Swap them.")
    if n < 2:
        raise UsageError(
            f"{flag} N: a swept axis needs at least 2 values to draw; got {n}. For one value, "
            "use an experiment that fixes it (python -m experiments lists them)."
        )
    if lo == hi:
        raise UsageError(
            f"{flag}: LO and HI are both {lo:g}, so all {n} values would be the same; give LO < HI."
        )
    if log and lo <= 0:
        raise UsageError(f"{flag}: a log-spaced grid needs LO > 0; got {lo:g}.")
    return Grid(lo, hi, n, log)


# -- the parser ------------------------------------------------------------------------------


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """Shows a grid flag as ``--starts LO HI N [log]``, not argparse's repeated ``nargs="+"``."""

    def _format_args(self, action: argparse.Action, default_metavar: str) -> str:
        if action.nargs == "+" and action.metavar == _GRID_METAVAR:
            return _GRID_METAVAR
        return super()._format_args(action, default_metavar)


_GRID_METAVAR = "LO HI N [log]"


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are a :class:`UsageError`, that reads ``-1e-3`` as a number.

    argparse takes any word that starts with ``-`` and does not look like ``-1`` or ``-1.5`` for
    a flag, so ``--start -1e-3`` fails there. A word that contains a space is never a flag to
    argparse, and ``float`` ignores surrounding spaces: negative numbers get a leading space.
    """

    def parse_args(self, args=None, namespace=None):  # type: ignore[override]
        given = list(sys.argv[1:] if args is None else args)
        words = [f" {w}" if w.startswith("-") and _is_number(w) else w for w in given]
        parsed = super().parse_args(words, namespace)
        # The space is for argparse alone: a path or a name given as -5 is "-5", not " -5"
        # (--out -5 wrote into the folder " -5"). A word given with its own space keeps it.
        spaced = {w for w, g in zip(words, given, strict=True) if w != g} - set(given)

        def unspaced(value: Any) -> Any:
            if isinstance(value, str | Path) and str(value) in spaced:
                return type(value)(str(value)[1:])
            if isinstance(value, list):
                return [unspaced(v) for v in value]
            return value

        for dest, value in vars(parsed).items():
            setattr(parsed, dest, unspaced(value))
        return parsed

    def flags(self) -> list[str]:
        """Every long flag this parser takes, in the order they were added."""
        return [s for a in self._actions for s in a.option_strings if s.startswith("--")]

    def error(self, message: str):
        message = message.replace(" ' -", " '-").replace(": -", ": -")
        if message.startswith("unrecognized arguments"):
            words = message.partition(":")[2].split()
            unknown = [w for w in words if w.startswith("--")]
            known = [f for f in self.flags() if f != "--help"]
            hints = []
            for w in unknown:
                close = difflib.get_close_matches(w.partition("=")[0], known, n=1, cutoff=0.8)
                if w == "--" or (close and close[0] == w):  # a flag after --, not a typo
                    hints.append(f"{w}: words after -- are not read as flags; remove the --")
                    break
                if close:
                    hints.append(f"{w}: did you mean {close[0]}?")
            hint = f" ({'; '.join(hints)})" if hints else ""
            raise UsageError(
                f"{' '.join(message.split())}{hint}; {self.prog} takes: {', '.join(known)}"
            )
        raise UsageError(f"{' '.join(message.split())} (see {self.prog} -h)")


def parser(name: str, doc: str | None) -> argparse.ArgumentParser:
    """A parser with the flags every experiment takes.

    Abbreviated flags are not accepted (``--start`` never means ``--starts``), and negative
    numbers in any notation are values, not flags.

    Args:
        name: the module's ``__name__`` (``"__main__"`` is resolved to the module's real
            name); ``-h`` shows the program as ``python -m name``.
        doc: the module docstring, shown by ``-h``; its first line is the summary.

    Returns:
        An :class:`argparse.ArgumentParser` with ``--function``, ``--domain``, ``--tol``,
        ``--seed``, ``--x64``, ``--out``, ``--format``, ``--save``, ``--show`` and
        ``--no-cache``. Add the axes with :func:`add_grid_args`, then call
        :func:`jaxgd.cli.setup`.

    Example:
        >>> p = parser("experiments.demo", "Demo.")
        >>> p.parse_args(["--domain", "-1e1", "10"]).domain
        ['-1e1', '10']
    """
    if name == "__main__":
        # Run as `python -m experiments.x`: the module's real name is on its spec.
        spec = getattr(sys.modules["__main__"], "__spec__", None)
        name = spec.name if spec is not None else Path(sys.argv[0]).stem
    p = _Parser(
        prog=f"python -m {name}",
        description=doc,
        formatter_class=_Formatter,
        allow_abbrev=False,
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
            "(no derivative needed). It may carry `domain = (lo, hi)` and `start = x0` "
            "attributes."
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
        type=_folder,
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
        "--save",
        default=None,
        metavar="PATH",
        help="also write the numbers behind the figure (a jaxgd.SweepResult) to PATH "
        "(.npz added if missing; into an existing folder, or a PATH ending in /, as "
        "PATH/<experiment>.npz); read them back with jaxgd.load(PATH)",
    )
    o.add_argument(
        "--show",
        action="store_true",
        help="also open each figure in a window (default: only write files)",
    )
    o.add_argument(
        "--no-cache",
        action="store_true",
        help="compile afresh, without JAX's persistent compilation cache (default: keep "
        "compiled programs in $JAXGD_CACHE_DIR, else $XDG_CACHE_HOME/jaxgd or ~/.cache/jaxgd, "
        "so the next run skips compiling; JAXGD_COMPILATION_CACHE=0 also turns it off)",
    )
    return p


def parse_run(p: argparse.ArgumentParser, argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse ``argv`` with ``p`` (from :func:`parser`) and apply the flags that set up the process.

    Every experiment's setup starts here, whatever its function (1-D, 2-D, a family). A run
    from the command line (``argv`` None) turns on JAX's persistent compilation cache unless
    ``--no-cache`` is given, before the first compilation (see :mod:`jaxgd._compile_cache`);
    calls with ``argv``, from tests and notebooks, leave the process's JAX settings alone.
    ``--x64`` turns on float64 before any array exists, so every grid and result is float64.
    ``JAXGD_FAST_MATH`` (see :mod:`jaxgd.fastmath`) is read here too, and
    ``JAXGD_COMPILATION_CACHE`` where the cache is turned on: a value either does not
    understand is a :class:`UsageError`, before anything runs.

    Example:
        >>> args = parse_run(parser("experiments.demo", "Demo."), ["--no-cache"])
        >>> args.no_cache, args.x64
        (True, False)
    """
    args = p.parse_args(argv)
    try:  # read by every sweep: a value it does not understand is refused before any work
        fastmath.enabled_for(np.float32, "cpu")
    except ValueError as err:
        raise UsageError(str(err)) from None
    if getattr(args, "save", None) is not None:
        # A trailing separator means a folder (Path() would drop it and write PATH.npz), and
        # so does an existing folder: PATH.npz beside it is not what its name asked for. A
        # folder named like a result file (x.npz) stays refused as a target, as before; an
        # empty PATH (an unset variable, say) names nothing: npz_path refuses it. A leading ~
        # is the home folder, as the shell would read it (it does not in --save=~/x).
        if not args.save.strip():
            raise UsageError(
                f"--save {args.save!r}: give a file name, e.g. results/run.npz (or a folder "
                "ending in /, e.g. results/, for results/<experiment>.npz)."
            )
        args.save = os.path.expanduser(args.save)
        folder = args.save.endswith(("/", os.sep)) or (
            args.save and not _npz.has_suffix(args.save) and _is_dir(args.save)
        )
        args.save = Path(args.save)
        if folder:
            args.save = args.save / f"{p.prog.rsplit('.', 1)[-1]}.npz"
    if argv is None and not args.no_cache:
        try:  # JAXGD_COMPILATION_CACHE, refused as JAXGD_FAST_MATH is
            _compile_cache.enable()
        except ValueError as err:
            raise UsageError(str(err)) from None
    if args.x64:
        jax.config.update("jax_enable_x64", True)
    return args


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


def argument_group(p: argparse.ArgumentParser, title: str) -> Any:
    """The group ``title`` of ``p``'s help, made if it has none yet: a second group of the same
    title printed its flags under a second heading."""
    for group in p._action_groups:
        if group.title == title:
            return group
    return p.add_argument_group(title)


def add_grid_args(
    p: argparse.ArgumentParser,
    *,
    starts: Grid | None = None,
    start: float | str | None = None,
    learning_rates: Grid | None = None,
    learning_rate: float | None = None,
    epochs: Grid | int | None = None,
    repeats: int | None = None,
) -> None:
    """Add the flags of the axes an experiment uses, with the notebook's defaults.

    Each axis is either swept (give a :class:`Grid`; the flag takes ``LO HI N`` or
    ``LO HI N log``) or fixed (give a number; the flag takes one value). Give ``starts`` or
    ``start``, and ``learning_rates`` or ``learning_rate``, not both. ``start="function"``
    makes the default start the function's own
    (:attr:`jaxgd.functions.Function1D.default_start`); ``start="random"`` a seeded random
    point of the domain, as the notebook's ``np.random.choice(x)``. ``repeats`` adds
    ``--repeats N``: random starts per cell, another axis of the sweep.

    The default start grid follows the function: the given grid for the notebook's function
    (and a user's ``f`` without a domain), the function's domain with the same number of points
    otherwise.

    Read the values back from :class:`jaxgd.cli.Context` (``ctx.starts``, ``ctx.learning_rate``,
    ...).
    """
    if starts is not None and start is not None:
        raise TypeError("add_grid_args: give starts (a Grid) or start (a number), not both.")
    if learning_rates is not None and learning_rate is not None:
        raise TypeError("add_grid_args: give learning_rates or learning_rate, not both.")
    g = argument_group(p, "grid")
    defaults: dict[str, Any] = {}
    swept = {"starts": starts, "learning_rates": learning_rates}
    if isinstance(epochs, Grid):
        swept["epochs"] = epochs
    for dest, default in swept.items():
        if default is None:
            continue
        flag, what = _GRID[dest]
        note = "; for a function with its own domain: that domain" if dest == "starts" else ""
        rounded = ", rounded to whole numbers" if dest == "epochs" else ""
        g.add_argument(
            flag,
            dest=dest,
            nargs="+",
            metavar=_GRID_METAVAR,
            default=None,
            help=f"N {what} evenly spaced from LO to HI{rounded}, or log-spaced with the word "
            f"log after N (default {default}{note})",
        )
        defaults[dest] = default
    fixed = {"start": start, "learning_rate": learning_rate}
    if epochs is not None and not isinstance(epochs, Grid):
        fixed["epochs"] = epochs
    for dest, value in fixed.items():
        if value is None:
            continue
        flag, metavar, what = _SINGLE[dest]
        shown = {
            "random": "a seeded random point of the domain",
            "function": "the function's own start: 0 for the notebook's f",
        }.get(str(value), f"{value:g}" if not isinstance(value, str) else value)
        g.add_argument(
            flag, dest=dest, metavar=metavar, default=None, help=f"{what} (default {shown})"
        )
        defaults[dest] = value
    if repeats is not None:
        g.add_argument(
            "--repeats",
            default=None,
            metavar="N",
            help=f"random starts per cell, drawn uniformly from the domain (default {repeats})",
        )
        defaults["repeats"] = repeats
    p.set_defaults(_grid_defaults=defaults)


def add_color_args(p: argparse.ArgumentParser) -> None:
    """Add ``--vmin``/``--vmax``: colour limits of heatmaps (default: robust, from the data)."""
    g = p.add_argument_group("colour")
    g.add_argument(
        "--vmin",
        default=None,
        metavar="V",
        help="lower colour limit (default: 2nd percentile of the finite values, no lower than "
        "the domain, the start and the minima with a margin)",
    )
    g.add_argument(
        "--vmax",
        default=None,
        metavar="V",
        help="upper colour limit (default: 98th percentile of the finite values, no higher than "
        "the domain, the start and the minima with a margin)",
    )
