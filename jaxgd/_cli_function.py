"""``--function`` and ``--derivative``: a built-in name, or ``module:attr`` of the user's own.

Every failure, from a missing module to an ``f`` that JAX cannot differentiate, is one
:class:`~jaxgd._cli_flags.UsageError` line that names the flag and the fix.
"""

from __future__ import annotations

import contextlib
import importlib
import math
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jax

from jaxgd import functions
from jaxgd._cli_flags import UsageError
from jaxgd._cli_output import Output
from jaxgd._validate import _takes_two, check_function, default_float
from jaxgd._words import plural

__all__ = [
    "DEFAULT_DOMAIN_2D",
    "NOTEBOOK_DOMAIN",
    "domain_2d",
    "load_derivative",
    "load_function",
    "load_function_2d",
]

#: The notebook's plotting interval, used for a user's ``f`` that declares no domain.
NOTEBOOK_DOMAIN = (-2.0 * math.pi, 2.0 * math.pi)


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
    return f"{type(err).__name__}: {text[0].strip()}" if text else type(err).__name__


def _import_attr(spec: str, flag: str = "--function", name: str = "f") -> Any:
    """``module:attr`` imported for ``flag``; every failure is one line naming ``flag``.

    ``name`` is what the attribute is usually called (``f``, ``df``), for the example.
    """
    # The last colon: a module's name and an attribute never hold one, but a Windows path
    # does (C:\src\mine.py:f was read as a module named 'C').
    module_name, _, attr = spec.rpartition(":")
    if not module_name or not attr:
        raise UsageError(
            f"{flag} {spec!r}: write module:attr, e.g. mymodule:{name} for `def {name}(x)` in "
            "mymodule.py in the current directory."
        )
    path_like = "/" in module_name or "\\" in module_name or module_name.startswith(".")
    if path_like or module_name.endswith(".py"):
        # A file's path (./mymodule, src/mymodule.py) where Python wants a module's name: a
        # leading dot or a slash never names one, and `mymodule.py` only when it fails.
        # Without its leading dots (.mine, a relative import, was repeated back as the fix).
        stem = Path(module_name.replace("\\", "/")).name.removesuffix(".py").lstrip(".")
        stem = stem or "mymodule"  # a folder (./, ..): no module's name in it
        path_hint = UsageError(
            f"{flag} {spec!r}: write the module's name, not its file's path: run from the "
            f"folder that holds {stem.replace('.', '/')}.py and write {flag} {stem}:{attr}."
        )
        if path_like:
            raise path_hint
    try:
        with _cwd_on_path():
            module = importlib.import_module(module_name)
    except ModuleNotFoundError as err:
        if module_name.endswith(".py"):
            raise path_hint from None
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
    except SystemExit as err:
        # A script's `sys.exit()` at import would end the experiment silently, status 0.
        raise UsageError(
            f"{flag} {spec!r}: importing {module_name} called sys.exit({err.code!r}); move "
            'the script part under `if __name__ == "__main__":`.'
        ) from None
    obj: Any = module
    for part in attr.split("."):
        if user_attr(obj, part, f"{flag} {spec!r}") is _MISSING:
            public = sorted(
                n for n, v in vars(module).items() if callable(v) and not n.startswith("_")
            )
            more = f", ... ({len(public) - 8} more)" if len(public) > 8 else ""
            hint = f" (its callables: {', '.join(public[:8])}{more})" if public else ""
            raise UsageError(
                f"{flag} {spec!r}: module {module_name} has no attribute {attr!r}{hint}."
            )
        obj = getattr(obj, part)
    return obj


#: What :func:`user_attr` returns for an attribute the object does not have.
_MISSING = object()


def user_attr(obj: Any, name: str, what: str) -> Any:
    """``obj.name``, or :data:`_MISSING`; a user's property or ``__getattr__`` that raises
    anything but AttributeError is one :class:`UsageError` naming ``what`` (the flag and its
    value), not a traceback."""
    try:
        return getattr(obj, name)
    except AttributeError:
        return _MISSING
    except Exception as err:
        raise UsageError(
            f"{what}: reading its {name} attribute failed: {_first_line(err)}"
        ) from None


def _shown(value: Any) -> str:
    """``repr(value)`` cut to 80 characters, or its type where even repr fails."""
    try:
        text = repr(value)
    except Exception:
        return f"a {type(value).__name__}"
    return text if len(text) <= 80 else text[:77] + "..."


def _doc_line(obj: Any) -> str:
    """The first line of a user's callable's docstring, or "" (however odd the object)."""
    try:
        lines = str(obj.__doc__ or "").strip().splitlines()
    except Exception:
        return ""
    return lines[0] if lines else ""


def _number(value: Any) -> float:
    """``float(value)`` for a number a user's attribute holds; a bool (``True``, ``np.True_``,
    a bool array) is refused with TypeError, as the library refuses one for a start or a
    bound: ``start = True`` is a slip, not the start 1."""
    import numpy as np

    if isinstance(value, bool | np.bool_) or getattr(value, "dtype", None) == np.bool_:
        raise TypeError(f"{value!r} is a bool, not a number")
    return float(value)


def _domain_of(spec: str, value: Any) -> tuple[float, float]:
    try:
        lo, hi = (_number(v) for v in value)
    except Exception:  # a user's object: anything may go wrong reading it
        raise UsageError(
            f"--function {spec!r}: its domain attribute must be two numbers (lo, hi); "
            f"got {_shown(value)}."
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
            notebook's ``[-2π, 2π]``. An optional ``start = x0`` attribute, inside the
            domain, becomes its default start.

    Returns:
        A :class:`~jaxgd.functions.Function1D`.

    Raises:
        UsageError: the module or attribute does not exist, the module exits on import, the
            attribute is not callable, ``f`` does not trace to a real scalar (non-scalar
            output, written with NumPy, raises, ...) or ``jax.grad`` cannot differentiate it
            (``lax.while_loop``, ``pure_callback``). The message is one line that names
            ``--function`` and the fix.

    Example:
        >>> load_function("double_well").domain
        (-2.0, 2.0)
        >>> load_function("jaxgd.functions:plateau").name
        'jaxgd.functions:plateau'
        >>> load_function("nope")
        Traceback (most recent call last):
        ...
        jaxgd._cli_flags.UsageError: --function 'nope': not a built-in function (...)...
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
            what = f"--function {spec!r}"
            domain = user_attr(obj, "domain", what)
            domain = NOTEBOOK_DOMAIN if domain is _MISSING else _domain_of(spec, domain)
            start = user_attr(obj, "start", what)
            start = None if start is _MISSING else _start_of(spec, start, domain)
            doc = _doc_line(obj)
            fn = functions.Function1D(spec, obj, domain, doc or "your own f", start)
        else:
            raise UsageError(
                f"--function {spec!r}: {type(obj).__name__} is not callable; point it at a "
                "function f(x) -> scalar written with jax.numpy."
            )
    name = f"--function {spec!r}"
    try:
        # Traces f and f' once (nothing compiles): what jax.grad cannot differentiate
        # (lax.while_loop, pure_callback, ...) is found here, before the sweep would.
        check_function(fn.f, default_float(), name=name)
    except (TypeError, ValueError) as err:
        message = " ".join(str(err).split())
        if _takes_two(fn.f):  # f(x, theta): the command line sweeps theta in one experiment
            message += (
                f" From the command line, python -m experiments.function_family --function "
                f"{spec} --params V1 V2 ... runs f(x, theta) for each theta."
            )
        raise UsageError(message) from None
    except Exception as err:  # f itself raises when traced: report it, don't dump a trace
        raise UsageError(f"{name}: calling f on a scalar failed: {_first_line(err)}") from None
    except SystemExit as err:  # f called sys.exit(): the run would end without a word
        raise UsageError(
            f"{name}: calling f on a scalar called sys.exit({err.code!r}); f must return a "
            "value, not end the program."
        ) from None
    return fn


def _start_of(spec: str, value: Any, domain: tuple[float, float]) -> float:
    try:
        start = _number(value)
    except Exception:  # a user's object: anything may go wrong reading it
        raise UsageError(
            f"--function {spec!r}: its start attribute must be a number; got {_shown(value)}."
        ) from None
    if not math.isfinite(start):  # NaN is in no domain: not "outside" it
        raise UsageError(
            f"--function {spec!r}: its start attribute must be a finite number; got {start!r}. "
            "Set it to a point of its domain, or remove it."
        )
    if not domain[0] <= start <= domain[1]:
        raise UsageError(
            f"--function {spec!r}: its start {start:g} lies outside its domain "
            f"[{domain[0]:g}, {domain[1]:g}]; move one of them."
        )
    return start


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
        jaxgd._cli_flags.UsageError: --derivative 'numpy:pi': float is not callable; ...
    """
    obj = _import_attr(spec, flag="--derivative", name="df")
    if not callable(obj):
        raise UsageError(
            f"--derivative {spec!r}: {type(obj).__name__} is not callable; point it at your "
            "derivative df(x), written with NumPy or jax.numpy."
        )
    return obj


#: The square a user's 2-D ``f`` is drawn on when it declares no domain.
DEFAULT_DOMAIN_2D = ((-5.0, 5.0), (-5.0, 5.0))


def _domain_2d_of(flag: str, value: Any) -> tuple[tuple[float, float], tuple[float, float]]:
    """``((x_lo, x_hi), (y_lo, y_hi))`` from a nested pair or four numbers, checked."""
    try:
        flat = [_number(v) for pair in value for v in pair]
    except TypeError:
        try:
            flat = [_number(v) for v in value]
        except Exception:  # a user's object: anything may go wrong reading it
            flat = []
    except Exception:
        flat = []
    if len(flat) != 4:
        raise UsageError(
            f"{flag}: a 2-D domain is ((x_lo, x_hi), (y_lo, y_hi)); got {_shown(value)}."
        )
    x0, x1, y0, y1 = flat
    if not (all(math.isfinite(v) for v in flat) and x0 < x1 and y0 < y1):
        raise UsageError(
            f"{flag}: the domain must be finite with lo < hi on both axes; got "
            f"x [{x0!r}, {x1!r}], y [{y0!r}, {y1!r}]."
        )
    return (x0, x1), (y0, y1)


def load_function_2d(spec: str) -> Any:
    """The 2-D function ``--function spec`` names, checked by tracing it once on a ``(2,)`` point.

    Args:
        spec: a built-in name from :func:`jaxgd.functions2d.names`, or ``module:attr`` naming
            a callable ``f(p) -> scalar`` for ``p`` of shape ``(2,)`` (or a
            :class:`~jaxgd.functions2d.Function2D`), imported with the current directory on
            ``sys.path``. A callable's optional attributes: ``domain = ((x_lo, x_hi), (y_lo,
            y_hi))`` (default ``[-5, 5] x [-5, 5]``), ``start = (x, y)`` and ``minima``, a
            list of ``(x, y)`` points.

    Returns:
        A :class:`~jaxgd.functions2d.Function2D`.

    Raises:
        UsageError: the name is unknown, the import fails, or ``f`` does not map a ``(2,)``
            point to a real scalar that ``jax.grad`` can differentiate; one line naming
            ``--function`` and the fix.

    Example:
        >>> load_function_2d("himmelblau").domain
        ((-5.0, 5.0), (-5.0, 5.0))
        >>> load_function_2d("notebook")
        Traceback (most recent call last):
        ...
        jaxgd._cli_flags.UsageError: --function 'notebook': not a built-in 2-D function (...)...
    """
    from jaxgd import functions2d
    from jaxgd.minima_nd import _check_nd_function

    name = f"--function {spec!r}"
    if ":" not in spec:
        if spec not in functions2d.FUNCTIONS:
            raise UsageError(
                f"{name}: not a built-in 2-D function (built-ins: "
                f"{', '.join(functions2d.names())}); for your own f(p) of a point p = (x, y) "
                "write module:attr, e.g. mymodule:f."
            )
        fn = functions2d.get(spec)
    else:
        obj = _import_attr(spec)
        if isinstance(obj, functions2d.Function2D):
            fn = obj
        elif callable(obj):
            domain = user_attr(obj, "domain", name)
            domain = (
                DEFAULT_DOMAIN_2D
                if domain is _MISSING
                else _domain_2d_of(f"{name}: its domain attribute", domain)
            )
            start = None
            given = user_attr(obj, "start", name)
            if given is not _MISSING:
                try:
                    sx, sy = (_number(v) for v in given)
                except Exception:
                    raise UsageError(
                        f"{name}: its start attribute must be a point (x, y); got {_shown(given)}."
                    ) from None
                if not (math.isfinite(sx) and math.isfinite(sy)):
                    raise UsageError(
                        f"{name}: its start attribute must be a finite point (x, y); got "
                        f"{_shown(given)}."
                    )
                start = (sx, sy)
            minima: tuple[tuple[float, float], ...] = ()
            given = user_attr(obj, "minima", name)
            if given is not _MISSING:
                try:
                    minima = tuple((_number(a), _number(b)) for a, b in given)
                except Exception:
                    raise UsageError(
                        f"{name}: its minima attribute must be a list of points (x, y); got "
                        f"{_shown(given)}."
                    ) from None
            doc = _doc_line(obj)
            try:
                fn = functions2d.Function2D(spec, obj, domain, doc or "your own f", minima, start)
            except (TypeError, ValueError) as err:  # a listed minimum outside the domain
                message = " ".join(str(err).split()).removeprefix(f"Function2D {spec!r}: ")
                if user_attr(obj, "domain", name) is _MISSING:
                    message += (
                        " f has no domain attribute, so its domain is the default "
                        "((-5, 5), (-5, 5)): give it one, domain = ((x_lo, x_hi), (y_lo, y_hi))."
                    )
                raise UsageError(f"{name}: {message}") from None
        else:
            raise UsageError(
                f"{name}: {type(obj).__name__} is not callable; point it at a function "
                "f(p) -> scalar of a point p = (x, y), written with jax.numpy."
            )
    try:
        fix = "The 2-D experiments call it on points p = (x, y): read only p[0] and p[1]."
        _check_nd_function(fn.f, 2, default_float(), name=name, fix=fix)
    except (TypeError, ValueError) as err:
        raise UsageError(" ".join(str(err).split())) from None
    except SystemExit as err:  # f called sys.exit(): the run would end without a word
        raise UsageError(
            f"{name}: calling f on a point called sys.exit({err.code!r}); f must return a "
            "value, not end the program."
        ) from None
    if ":" in spec and fn.minima:
        _check_listed_minima(name, fn.f, fn.minima)
    return fn


def _check_listed_minima(name: str, f: Callable, minima: Any) -> None:
    """Refuse a ``minima`` attribute that lists a point where f has no minimum.

    The summaries match runs against that list and nothing else, so a wrong point would
    make every run "near none" and name a minimum f does not have. A point passes when one
    Newton step from it moves less than 1e-3 * max(1, |p|) and f'' is positive definite
    there, or when f' is exactly 0 and f'' has no negative direction (a degenerate minimum
    such as x**4 + y**4 at 0; a saddle is refused).
    """
    import numpy as np

    pts = jax.numpy.asarray(np.asarray(minima, np.float64), default_float())
    grads, hessians = jax.jit(jax.vmap(lambda p: (jax.grad(f)(p), jax.hessian(f)(p))))(pts)
    for p, g, h in zip(np.asarray(pts), np.asarray(grads), np.asarray(hessians), strict=True):
        g, h = g.astype(np.float64), h.astype(np.float64)
        where = f"({p[0]:.6g}, {p[1]:.6g})"
        fix = "Fix the point, or drop the attribute to have the minima found."
        if not (np.isfinite(g).all() and np.isfinite(h).all()):
            raise UsageError(
                f"{name}: its minima attribute lists {where}, where f' is not finite. {fix}"
            )
        eig = np.linalg.eigvalsh(0.5 * (h + h.T))
        if not g.any() and eig.min() >= 0:
            continue
        step = np.linalg.solve(h, g) if eig.min() > 0 else None
        if step is None or np.linalg.norm(step) > 1e-3 * max(1.0, float(np.linalg.norm(p))):
            raise UsageError(
                f"{name}: its minima attribute lists {where}, which is not a minimum of f "
                f"(f' = ({g[0]:.3g}, {g[1]:.3g}) there). {fix}"
            )


def domain_2d(
    given: Any, fn: Any, dtype: Any = None
) -> tuple[tuple[float, float], tuple[float, float]]:
    """``--domain X_LO X_HI Y_LO Y_HI`` when given (four words), else the function's domain;
    with ``dtype`` (the working float), each given end must keep its meaning there, as the
    1-D experiments' ``--domain`` must, and so must its width on each axis (an end or a width
    past float32's range made infinite starts, and the sweep's own error a traceback)."""
    if given is None:
        return fn.domain
    from jaxgd._cli_flags import in_dtype, number, span_in_dtype

    values = [number("--domain", t) for t in given]
    if dtype is not None:
        values = [in_dtype("--domain", v, dtype) for v in values]
        for lo, hi in (values[:2], values[2:]):
            span_in_dtype("--domain:", lo, hi, dtype)
    return _domain_2d_of("--domain", [values[:2], values[2:]])


def use_2d_function_flags(p: Any, default: str) -> None:
    """Make ``--function`` and ``--domain`` of an experiment's parser take a 2-D ``f``.

    ``--function`` defaults to ``default`` and lists the 2-D built-ins; ``--domain`` takes
    four numbers, ``X_LO X_HI Y_LO Y_HI``.
    """
    from jaxgd import functions2d

    p.point_dim = 2  # `python -m experiments all` gives it only 2-D built-ins
    # argparse has no public way to change a flag once added; these two attributes are all
    # it reads when it parses and when it prints -h.
    function = p._option_string_actions["--function"]
    function.default = default
    function.help = (
        f"2-D f to descend: a built-in ({', '.join(functions2d.names())}; default {default}) "
        "or module:attr for your own f(p) -> scalar of a point p = (x, y), written with "
        "jax.numpy and imported from the current directory. It may carry `domain = ((x_lo, "
        "x_hi), (y_lo, y_hi))`, `start = (x, y)` and `minima = [(x, y), ...]` attributes."
    )
    domain = p._option_string_actions["--domain"]
    domain.nargs = 4
    domain.metavar = ("X_LO", "X_HI", "Y_LO", "Y_HI")
    domain.help = (
        "rectangle to draw f on, lay the starts over and search for minima in (default: the "
        "function's domain; [-5, 5] x [-5, 5] for your own f without a domain attribute)"
    )


class Context2D(Output):
    """A parsed run of a 2-D experiment: the function, its rectangle, the grids, the output.

    The 2-D counterpart of :class:`jaxgd.cli.Context`, made by :func:`setup_2d`. Attributes:
    ``args``, ``function`` (a :class:`~jaxgd.functions2d.Function2D`), ``f``, ``domain``
    (``((x_lo, x_hi), (y_lo, y_hi))``), ``dtype``, ``tol``, ``seed``, ``key``, ``grid``
    (``--grid``: starts per axis), ``learning_rates`` or ``learning_rate``, ``epochs`` and
    ``written``. Every flag is checked when it is made, before anything is compiled.
    """

    def __init__(self, args: Any, function: Any, figures: Any = ()) -> None:
        import numpy as np

        from jaxgd._cli_flags import (
            MAX_SEED,
            Grid,
            flag_errors,
            grid,
            in_dtype,
            number,
            whole,
        )
        from jaxgd._validate import MAX_EPOCHS, as_float_axis

        self.args = args
        self.function = function
        self.f = function.f
        self.dtype = np.dtype(default_float())
        defaults = getattr(args, "_grid_defaults", {})
        self.seed = whole("--seed", args.seed, minimum=0, maximum=MAX_SEED)
        self._key = None  # made on first use (making it compiles): see key
        self.domain = domain_2d(args.domain, function, self.dtype)
        self.tol = number("--tol", args.tol)
        if self.tol <= 0:
            raise UsageError(f"--tol: must be > 0, got {args.tol.strip()!r}.")
        across = math.hypot(*(hi - lo for lo, hi in self.domain))
        if self.tol >= across:
            raise UsageError(
                f"--tol: {self.tol:g} is not below the diagonal of the domain ({across:g}), "
                "so every point would count as at every minimum; give a distance well below "
                "it, e.g. --tol 1e-3."
            )
        self.grid = whole("--grid", args.grid, minimum=2) if hasattr(args, "grid") else None
        if "learning_rates" in defaults:
            given = args.learning_rates
            g = grid("--learning-rates", given) if given is not None else defaults["learning_rates"]
            for end in (g.lo, g.hi):  # every value lies between them: the flag's words
                in_dtype("--learning-rates", end, self.dtype)
            with flag_errors("--learning-rates"):
                self.learning_rates = as_float_axis(
                    "learning_rates", g.values(), self.dtype, nonnegative=True
                )
            self.rates_grid: Grid = g
        if "learning_rate" in defaults:
            given = args.learning_rate
            value = (
                float(defaults["learning_rate"])
                if given is None
                else in_dtype("--learning-rate", number("--learning-rate", given), self.dtype)
            )
            if value < 0:
                raise UsageError(f"--learning-rate: must be >= 0, got {given.strip()!r}.")
            self.learning_rate = value
        if "epochs" in defaults:
            given = args.epochs
            self.epochs = (
                int(defaults["epochs"])
                if given is None
                else whole("--epochs", given, maximum=MAX_EPOCHS)
            )
        n_rates = len(getattr(self, "learning_rates", [0]))
        if self.grid is not None and self.grid**2 * max(1, n_rates) > 4e7:
            raise UsageError(
                f"--grid: {self.grid} x {self.grid} starts"
                + (" at every rate" if n_rates > 1 else "")
                + " is too many runs to hold in memory; use a smaller --grid."
            )
        self._check_outputs(figures)

    @property
    def key(self) -> Any:
        """The ``jax.random`` key of ``--seed``; made on first use, as making it compiles (a
        check of the flags alone, as ``python -m experiments all`` makes first, compiles
        nothing for it)."""
        if self._key is None:
            from jaxgd._cli_flags import seed_key

            self._key = seed_key(self.seed)
        return self._key

    def describe_function(self) -> str:
        """One line: which f, what it is, its rectangle, and the float type."""
        fn = self.function
        what = f"f: {fn.name} ({fn.description})" if fn.description else f"f: {fn.name}"
        hint = " (--x64 for float64)" if self.dtype.itemsize < 8 else ""
        (x0, x1), (y0, y1) = self.domain
        return f"{what}; on [{x0:g}, {x1:g}] x [{y0:g}, {y1:g}]; computed in {self.dtype}{hint}"

    def minima(self, ends: Any = None) -> Any:
        """The minima the runs are matched against: the function's own list when it has one
        (for your own f, with those Newton finds from the ends no listed minimum accounts for:
        a list may be incomplete), else those :func:`jaxgd.minima_nd.find_minima_nd` finds in
        the rectangle and from a sample of the runs' ends."""
        import numpy as np

        from jaxgd.minima_nd import MinimaND, _sample, find_minima_nd

        extra = None
        if ends is not None:
            # A sample over all the ends (np.unique sorts by x: its first 4096 are the
            # left-most, and minima on the right went unfound).
            extra = _sample(np.round(np.asarray(ends, np.float64).reshape(-1, 2), 4))
        if not self.function.minima:
            return find_minima_nd(self.f, self.domain, extra_starts=extra)
        listed = np.asarray(self.function.minima, np.float64).reshape(-1, 2)
        from jaxgd import functions2d

        builtin = functions2d.FUNCTIONS.get(self.function.name) is self.function
        own = np.array_equal(np.asarray(self.domain, np.float64), self.function.bounds)
        if builtin and not own:
            # A built-in's list is complete on its own rectangle, not on the one given with
            # --domain: search this one (and from the runs' ends), as for your own f, with
            # the listed minima inside it. Rastrigin on [-7, 7]^2 has 225 minima, not 121.
            lo, hi = np.asarray(self.domain, np.float64).T
            inside = listed[np.all((listed >= lo) & (listed <= hi), axis=1)]
            found = np.asarray(
                find_minima_nd(self.f, self.domain, extra_starts=extra).x, np.float64
            ).reshape(-1, 2)
            if inside.size:
                near = np.linalg.norm(found[:, None, :] - inside[None, :, :], axis=-1)
                found = found[near.min(axis=1) > 10 * self.tol]
            return MinimaND.at(self.f, np.concatenate([inside, found]))
        if extra is None or builtin:
            return MinimaND.at(self.f, listed)  # a built-in's list is complete on its domain

        # A list may be incomplete: search from the ends no listed minimum accounts for, so
        # runs that settled elsewhere are not called "near none" (nor the list's lowest global).
        def apart(points: np.ndarray) -> np.ndarray:  # distance to the nearest listed
            return np.linalg.norm(points[:, None, :] - listed[None, :, :], axis=-1).min(axis=1)

        unmatched = extra[apart(extra) > self.tol]
        if unmatched.size == 0:
            return MinimaND.at(self.f, listed)
        found = np.asarray(
            find_minima_nd(self.f, self.domain, extra_starts=unmatched).x, np.float64
        ).reshape(-1, 2)
        found = found[apart(found) > 10 * self.tol]
        if found.size == 0:
            return MinimaND.at(self.f, listed)
        shown = ", ".join(f"({x:.6g}, {y:.6g})" for x, y in found[:4])
        more = f" and {len(found) - 4} more" if len(found) > 4 else ""
        print(
            f"note: {self.function.name}'s minima list misses "
            f"{plural(len(found), 'minimum', 'minima')} found from where runs ended: "
            f"{shown}{more}; counted with the listed ones"
        )
        return MinimaND.at(self.f, np.concatenate([listed, found]))


def global_first(best: Any) -> list[int]:
    """Indices of minima, the global ones (``best``) first, each group in index order: of
    Rastrigin's 121 minima, the first few by index left the global one (0, 0) unnamed."""
    return sorted(range(len(best)), key=lambda k: (not best[k], k))


def share_parts(x: Any, lab: Any, counts: Any, shown: Any) -> list[str]:
    """The shares of the runs labelled ``lab`` (basins_nd's labels) for a summary line: one
    part per minimum in ``shown`` (its point ``x[k]``; ``counts``: the runs at each minimum),
    the runs at the other minima in one part, so that the shares add up to 100%, then near
    none and diverged."""
    import numpy as np

    from jaxgd.minima_nd import DIVERGED, NO_MINIMUM

    shown = list(shown)
    parts = [f"({x[k, 0]:.4g}, {x[k, 1]:.4g}) {counts[k] / lab.size:.1%}" for k in shown]
    rest = int(counts.sum() - counts[shown].sum())
    if rest:
        others = int(np.count_nonzero(counts)) - len(shown)
        parts.append(f"{plural(others, 'other minimum', 'other minima')} {rest / lab.size:.1%}")
    parts.append(f"near none {np.mean(lab == NO_MINIMUM):.1%}")
    parts.append(f"diverged {np.mean(lab == DIVERGED):.1%}")
    return parts


def outside_note(point: Any, domain: Any) -> str:
    """ " outside the domain" for a point ``(x, y)`` off the rectangle ``domain``, else "":
    the summaries name minima found where runs ended, beyond the domain, as the 1-D ones do."""
    from jaxgd import functions2d

    return "" if functions2d._in_domain(point, domain) else " outside the domain"


#: Minima with a flat direction (Hessian singular to this fraction of its largest eigenvalue)
#: from which a note says that f's minima are likely a curve or a region.
FLAT_MINIMA = 8


def flat_minima_note(f: Callable, minima: Any) -> str | None:
    """A note for the summaries when many of ``minima`` have a flat direction (f's Hessian
    singular there), as every point of a ring of minima, ``(x^2 + y^2 - 1)^2``, has: the
    search then returns points along the curve, and runs that end on it between them are
    "near none", which the note explains. None otherwise (Rastrigin's 121 minima are all
    strict)."""
    import numpy as np

    if len(minima) < FLAT_MINIMA:
        return None
    hessians = np.asarray(jax.jit(jax.vmap(jax.hessian(f)))(minima.x), np.float64)
    eig = np.abs(np.linalg.eigvalsh(0.5 * (hessians + np.swapaxes(hessians, 1, 2))))
    flat = int(np.count_nonzero(eig.min(axis=1) <= 1e-3 * eig.max(axis=1)))
    if flat < FLAT_MINIMA:
        return None
    return (
        f"note: at {flat} of these {len(minima)} minima f is flat along some direction (its "
        "Hessian is singular there): f's minima probably form a curve or a region, not "
        "isolated points, and runs that end on it between the points found count as near none"
    )


def setup_2d(p: Any, argv: Any = None, *, figures: Any = ()) -> Context2D:
    """Parse ``argv`` for a 2-D experiment, switch on x64 if asked, load ``--function`` as a
    2-D f and check every flag, as :func:`jaxgd.cli.setup` does for the 1-D ones."""
    from jaxgd._cli_flags import parse_run
    from jaxgd._cli_output import headless_unless_show

    args = parse_run(p, argv)
    ctx = Context2D(args, load_function_2d(args.function), figures)
    headless_unless_show(args.show)
    return ctx


def diverged_note(
    f: Callable, minima: Any, share: float, rate: float, starts: Any = None, *, rates: int = 0
) -> str | None:
    """A sentence when at least half of a 2-D experiment's runs diverged (``share``) at
    learning ``rate``: the rate is too large for f there. Where minima are known, the largest
    curvature among them (the Hessian's largest eigenvalue) says below which rate plain
    descent is stable at them, 2/curvature, and the rate to try follows; else a tenth of it.
    With the runs' ``starts`` (in the working dtype): where f or its gradient is not finite
    at half or more of them, no rate helps, and the sentence says that instead (a smaller
    --domain, or --x64 where float64 holds what float32 overflowed).

    An experiment that sweeps ``rates`` learning rates (``--learning-rates``) passes the
    smallest rate at which half or more of its runs diverged and the share there: the sentence
    then names that rate and advises a ``--learning-rates`` grid of as many rates.
    """
    import numpy as np

    if share < 0.5 or rate <= 0:
        return None
    lead = f"note: {share:.0%} of the runs" + (f" at learning rate {rate:g}" if rates else "")
    lead += " diverged"
    if starts is not None and np.size(starts):

        def not_finite(points: Any) -> float:  # the share of points where f or f' is not
            value, slope = jax.jit(jax.vmap(jax.value_and_grad(f)))(points)
            finite = np.isfinite(np.asarray(value)) & np.isfinite(np.asarray(slope)).all(axis=-1)
            return 1.0 - float(np.mean(finite))

        bad = not_finite(starts)
        if bad >= 0.5 * share:
            dtype = np.asarray(starts).dtype
            # --x64 is advice only where float64 holds what float32 overflowed: not where f
            # is undefined (NaN) whatever the precision, as sqrt(x) for x < 0.
            wider = False
            if dtype == np.float32:
                # Advice only: an f that fails in float64 (the run was float32) gets none,
                # rather than ending a finished run with its traceback.
                try:
                    with jax.enable_x64(True):
                        wider = not_finite(np.asarray(starts, np.float64)) < bad
                except Exception:
                    wider = False
            # Finite at none of them: no smaller --domain inside this one helps either.
            where = "any of the starts" if bad == 1 else f"{bad:.0%} of the starts themselves"
            fix = (
                "choose a --domain where f is finite, or check the formula of f"
                if bad == 1
                else "choose a smaller --domain"
            )
            return (
                f"{lead}: f or its gradient is not finite in {dtype} at {where}, so no "
                f"learning rate helps; {fix}"
                + (", or compute in float64 with --x64" if wider else "")
            )
    curve = 0.0
    with jax.enable_x64(True):
        hessian = jax.hessian(f)
        for x in np.asarray(getattr(minima, "x", np.zeros((0, 2))), np.float64):
            eig = np.linalg.eigvalsh(np.asarray(hessian(x), np.float64))
            if np.isfinite(eig).all():
                curve = max(curve, float(eig.max()))
    if rates:
        text = f"{lead}: that rate is too large here, and so would be any larger"

        def advice(top: float) -> str:  # a grid as wide as the one run, ending at top
            top = float(f"{top:.1g}")
            return f"--learning-rates {float(f'{top / 10:.1g}'):g} {top:g} {rates}"
    else:
        text = f"{lead}: the learning rate {rate:g} is too large here"

        def advice(top: float) -> str:
            return f"--learning-rate {float(f'{top:.1g}'):g}"

    if curve > 0 and rate > 2.0 / curve:
        bound = 2.0 / curve
        return (
            f"{text}; at the minima f's largest curvature is {curve:.6g}, so plain descent is "
            f"stable there only for rates below 2/{curve:.6g} = {bound:.3g}; try "
            f"{advice(0.5 * bound)}"
        )
    if rates:
        return f"{text}; try smaller ones, e.g. {advice(rate / 10)}"
    return f"{text}; try a smaller --learning-rate, e.g. {float(f'{rate / 10:.1g}'):g}"
