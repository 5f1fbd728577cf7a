"""List the experiments, or run one or all of them: ``python -m experiments [all|NAME] ...``.

    python -m experiments                     # one line per experiment
    python -m experiments all --out figures   # every experiment, figures into one folder
    python -m experiments lr_epochs --start 1.6
    python -m experiments all --start 1.6     # --start goes to the experiments that take it

``all`` gives each flag that follows to the experiments that take it and says which ignore
it (``--function`` goes to the experiments for functions of its kind: one variable, a point
of R^2, or f(x, theta) for a ``module:attr`` of your own, found by tracing it); a flag no
experiment takes is refused before anything runs, and so is a value an
experiment would refuse: every experiment checks its flags first, as it would on its own,
and none runs unless all pass (exit status 2, one line per refusal). ``--save PATH`` becomes
``PATH/<experiment>.npz``. Every experiment runs even when one fails; a summary line per
experiment ends the run, and the exit status is non-zero when any failed. Ctrl-C (status 130)
or SIGTERM (143) stops the experiment running and the rest with it. An experiment is any
module of this package with a ``parser()`` and a ``main(argv) -> int`` (a
``jaxgd.cli.command`` that calls ``jaxgd.cli.checked()`` once its flags are checked); its
docstring's first line is its summary.
"""

from __future__ import annotations

import ast
import contextlib
import errno
import functools
import gc
import importlib
import io
import os
import pkgutil
import signal
import sys
from pathlib import Path
from typing import Any

#: The notebook's order; modules not named here follow, alphabetically.
ORDER = ("single_run", "start_location", "learning_rate", "lr_epochs", "random_starts")
HERE = Path(__file__).resolve().parent
#: An experiment's status when Ctrl-C (130) or SIGTERM (143) stopped it: the rest do not run.
STOPPED = (130, 143)


def experiments() -> dict[str, str]:
    """Every experiment module, in running order, with its one-line summary.

    Read from the source (without importing), so the listing is instant.
    """
    found = {}
    for info in pkgutil.iter_modules([str(HERE)]):
        if info.name.startswith("_") or info.ispkg:
            continue
        tree = ast.parse((HERE / f"{info.name}.py").read_text(encoding="utf-8"))
        defined = {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
        has_main = {"main", "parser"} <= defined
        if has_main:
            doc = ast.get_docstring(tree) or ""
            found[info.name] = doc.strip().splitlines()[0] if doc.strip() else ""
    rank = {name: i for i, name in enumerate(ORDER)}
    return {n: found[n] for n in sorted(found, key=lambda n: (rank.get(n, len(ORDER)), n))}


def _groups(words: list[str]) -> list[list[str]]:
    """``words`` cut into flags with their values: ``--flag v ...`` or ``--flag=v``."""
    groups: list[list[str]] = []
    for word in words:
        if word.startswith("-") and not _is_number(word):
            groups.append([word])
        elif groups:
            groups[-1].append(word)
        else:
            raise UsageError(f"expected a flag such as --function, got {word!r}")
    return groups


def _is_number(word: str) -> bool:
    try:
        float(word)
    except ValueError:
        return False
    return True


class UsageError(Exception):
    """A flag that no experiment takes, or words that are not flags."""


def _values(group: list[str]) -> int:
    """How many values a flag's words carry: ``--flag v w`` two, ``--flag=v`` one."""
    return 1 if "=" in group[0] else len(group) - 1


def _why_not(parser: Any, group: list[str]) -> str | None:
    """Why an experiment with ``parser`` cannot take the flag ``group`` as given, or None.

    It takes it when the flag is its own, with as many values as it expects, and, for
    ``--function`` naming a built-in, when the built-in is a function of as many variables as
    the experiment's (a module:attr function, as :func:`_why_not_own` says).
    """
    flag = group[0].partition("=")[0]
    action = parser._option_string_actions.get(flag) if flag in parser.flags() else None
    if action is None:
        return "does not take it"
    n, want = _values(group), 1 if action.nargs is None else action.nargs
    ok = {"?": n <= 1, "*": True, "+": n >= 1}.get(want) if isinstance(want, str) else n == want
    if ok and want == "+" and action.metavar == "LO HI N [log]" and n not in (3, 4):
        return "takes a grid, LO HI N [log]"  # not a single value
    if not ok:
        if isinstance(want, int):
            return f"takes {want} value{'s' * (want != 1)}" if want else "takes no value"
        return "takes other values"
    if flag == "--function":
        from jaxgd import functions, functions2d

        name = group[0].partition("=")[2] or (group[1] if len(group) > 1 else "")
        dim = getattr(parser, "point_dim", 1)
        if ":" in name:
            return _why_not_own(parser, dim, _kinds(name))
        if dim == 1 and name in functions2d.names() and name not in functions.names():
            return "takes functions of one variable"
        if dim == 2 and name in functions.names() and name not in functions2d.names():
            return "takes functions on R^2"
    return None


def _why_not_own(parser: Any, dim: int, kinds: frozenset[str]) -> str | None:
    """Why an experiment cannot take a ``module:attr`` function of these :func:`_kinds`, or
    None. One no experiment can take goes to all of them, each refusing it in its words."""
    if not kinds:
        return None
    if "--params" in parser.flags():  # f(x, theta); of x alone it says it has nothing to run
        return None if kinds & {"family", "x"} else "takes a family f(x, theta)"
    if dim == 2:
        return None if "point" in kinds else "takes functions on R^2"
    return None if "x" in kinds else "takes functions of one variable"


@functools.cache
def _kinds(spec: str) -> frozenset[str]:
    """What the ``module:attr`` function ``spec`` is, found by tracing it (nothing compiles):
    ``"x"``, a function of one variable; ``"point"``, of a point of R^2; ``"family"``,
    f(x, theta). Empty when it is none of them: each experiment then says why."""
    from experiments import function_family
    from jaxgd import cli
    from jaxgd._cli_function import load_function_2d

    kinds = set()
    for kind, check in (
        ("x", lambda: cli.load_function(spec)),
        ("point", lambda: load_function_2d(spec)),
        ("family", lambda: _check_family(function_family, spec)),
    ):
        try:
            check()
        except Exception:  # a refusal (UsageError), or whatever importing it raised
            continue
        kinds.add(kind)
    return frozenset(kinds)


def _check_family(family: Any, spec: str) -> None:
    """Refuse ``spec`` unless it names an f(x, theta) (function_family's own checks)."""
    from jaxgd._validate import default_float

    _, f, _, _ = family.load_family(spec)
    family.check_family(spec, f, float(family.PARAMS[0]), default_float())


def _check_save_folder(value: str) -> None:
    """``all --save`` takes a folder: refuse a file, or a name that reads as one, up front."""
    value = os.path.expanduser(value)  # as each experiment reads it
    path = Path(value)
    try:
        is_dir, exists = path.is_dir(), path.exists()
    except OSError as err:  # a name too long for the system, say
        raise UsageError(
            f"--save {value[:80]!r}: {err.strerror or err}; use a shorter name (most systems "
            "allow 255 bytes a name)."
            if err.errno == errno.ENAMETOOLONG
            else f"--save {value[:80]!r}: {err.strerror or err}; choose another path."
        ) from None
    if not value:
        raise UsageError(
            "--save '': give the folder to write PATH/<experiment>.npz into, e.g. --save results/"
        )
    if value.endswith(("/", "\\")) or is_dir:
        return  # a folder, whatever its name
    if exists and not is_dir:
        raise UsageError(
            f"--save {value}: is a file; all writes one file per experiment, "
            "PATH/<experiment>.npz, into a folder: give a folder."
        )
    if path.suffix.lower() == ".npz" and not exists:
        raise UsageError(
            f"--save {value}: all writes one file per experiment, PATH/<experiment>.npz, "
            f"into a folder; give a folder name, e.g. --save {path.with_suffix('')}/"
        )


def _plan(names: list[str], words: list[str]) -> tuple[dict[str, list[str]], list[str]]:
    """Each experiment's own words, and one note per flag that some experiments ignore."""
    parsers = {n: importlib.import_module(f"experiments.{n}").parser() for n in names}
    takes = {n: set(parsers[n].flags()) for n in names}
    argv: dict[str, list[str]] = {n: [] for n in names}
    notes = []
    for group in _groups(words):
        flag = group[0].partition("=")[0]
        why = {n: _why_not(parsers[n], group) for n in names}
        users = [n for n in names if why[n] is None]
        if not users:
            if any(flag in takes[n] for n in names):
                reasons = "; ".join(sorted({f"{n} {why[n]}" for n in names if flag in takes[n]}))
                raise UsageError(f"{' '.join(group)}: no experiment takes it so ({reasons})")
            every = sorted(set().union(*takes.values()) - {"--help"})
            raise UsageError(
                f"{flag}: no experiment takes it; the flags they take: {', '.join(every)}"
            )
        for n in users:
            if flag == "--save":
                value = group[0].partition("=")[2] or (group[1] if len(group) > 1 else "")
                _check_save_folder(value)
                argv[n] += ["--save", str(Path(value) / f"{n}.npz")]
            else:
                argv[n] += group
        ignored = [n for n in names if n not in users]
        if ignored:
            # Only say why where the experiment has the flag but not in this form.
            said = [n if flag not in takes[n] else f"{n} ({why[n]})" for n in ignored]
            notes.append(f"{flag} goes to {', '.join(users)}; ignored by {', '.join(said)}")
    return argv, notes


def _check_all(names: list[str], argv: dict[str, list[str]]) -> int:
    """Check every experiment's flags before any runs (``jaxgd.cli.check_flags``), so a value
    one of them refuses stops ``all`` before the others have run for minutes. Returns 0 when
    all pass; else the status to exit with, having said why on stderr: each refusal once,
    with the experiments that made it."""
    from jaxgd import cli

    refusals: dict[str, list[str]] = {}
    codes = []
    for name in names:
        main = importlib.import_module(f"experiments.{name}").main
        said = io.StringIO()
        # What a check prints is said again by the run itself; only a refusal is kept.
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(said):
            try:
                code = cli.check_flags(main, argv[name])
            except Exception as err:  # as in the run: an experiment's failure, not a crash
                text = str(err).strip().splitlines()
                print(f"error: {type(err).__name__}: {text[0] if text else ''}", file=sys.stderr)
                code = 1
        if code in STOPPED:  # Ctrl-C or SIGTERM: it said so
            print(said.getvalue(), end="", file=sys.stderr)
            return code
        if code:
            codes.append(code)
            lines = [line for line in said.getvalue().splitlines() if line.startswith("error: ")]
            for line in lines or [f"error: exit status {code}"]:
                refusals.setdefault(line.removeprefix("error: "), []).append(name)
    for text, who in refusals.items():
        print(f"error: {', '.join(who)}: {text}", file=sys.stderr)
    return 0 if not codes else 2 if set(codes) == {2} else 1


def run_all(names: list[str], words: list[str]) -> int:
    """Run every experiment in ``names`` with the flags of ``words`` it takes; see the module."""
    if "-h" in words or "--help" in words:
        takes = {n: importlib.import_module(f"experiments.{n}").parser().flags() for n in names}
        print("usage: python -m experiments all [FLAGS...]: each flag goes to the experiments")
        print("that take it (python -m experiments.NAME -h explains them):")
        every = dict.fromkeys(f for n in names for f in takes[n] if f != "--help")
        width = max(map(len, every))
        for flag in every:
            users = [n for n in names if flag in takes[n]]
            print(
                f"  {flag:<{width}}  {'every experiment' if users == names else ', '.join(users)}"
            )
        return 0
    try:
        argv, notes = _plan(names, words)
    except UsageError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    for note in notes:
        print(f"note: {note}")
    from jaxgd import cli

    codes: dict[str, int] = {}
    stopped: int | None = None
    package = importlib.import_module("experiments")
    package.IN_ALL = True
    # SIGTERM stops `all` as Ctrl-C does, between experiments too (each run puts back the
    # handler it found, which is this one): the summary still ends it.
    terms, replaced = cli._sigterms[0], cli._catch_sigterm()
    try:
        try:
            refused = _check_all(names, argv)
            if refused in STOPPED:
                stopped = refused
            elif refused:
                return refused
            for name in names if stopped is None else ():
                print(f"== {name} ==", flush=True)
                try:
                    codes[name] = importlib.import_module(f"experiments.{name}").main(argv[name])
                except Exception as err:  # one experiment's failure must not stop the others
                    text = str(err).strip().splitlines()
                    print(
                        f"error: {type(err).__name__}: {text[0] if text else ''}", file=sys.stderr
                    )
                    codes[name] = 1
                sys.stdout.flush()
                if codes[name] in STOPPED:  # Ctrl-C or SIGTERM stops them all
                    break
        except KeyboardInterrupt:  # outside a run, which says so itself
            stopped = 143 if cli._sigterms[0] > terms else 130
            print("terminated" if stopped == 143 else "interrupted", file=sys.stderr, flush=True)
    finally:
        package.IN_ALL = False
        if replaced is not None:  # a second SIGTERM ends the process at once, as usual
            signal.signal(signal.SIGTERM, replaced)
    print("== summary ==")
    width = max(map(len, names))
    for name in names:
        code = codes.get(name)
        state = "not run" if code is None else "ok" if code == 0 else f"failed (exit {code})"
        print(f"{name:<{width}}  {state}")
    failed = [c for c in codes.values() if c]
    halted = [c for c in failed if c in STOPPED] + ([] if stopped is None else [stopped])
    if halted:
        return halted[0]
    return 0 if not failed else 2 if set(failed) == {2} else 1


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    found = experiments()
    if not argv or argv[0] in ("-h", "--help"):
        width = max(map(len, found))
        print(
            "usage: python -m experiments [all | NAME] [FLAGS...]  (python -m experiments.NAME -h)"
        )
        print()
        for name, summary in found.items():
            print(f"  {name:<{width}}  {summary}")
        print(
            f"  {'all':<{width}}  run every experiment above, each with the flags that follow "
            "that it takes"
        )
        return 0
    name, rest = argv[0], argv[1:]
    if name == "all":
        return run_all(list(found), rest)
    if name not in found:
        print(
            f"error: no experiment named {name!r}; choose one of: {', '.join(found)}, all",
            file=sys.stderr,
        )
        return 2
    return importlib.import_module(f"experiments.{name}").main(rest)


def _run() -> int:
    """``main()`` for the command line: a Ctrl-C or SIGTERM held while the modules were
    imported (see ``experiments/__init__``) is delivered once they are, in an experiment's
    main, or here, where none ran (the listing, a name misspelt): ``interrupted`` and 130,
    ``terminated`` and 143, as in a run."""
    try:
        if "--no-cache" not in sys.argv:
            # The experiments run in this process, each with argv: the cache is turned on here.
            from jaxgd import _compile_cache

            try:
                _compile_cache.enable()
            except ValueError as err:  # JAXGD_COMPILATION_CACHE=maybe: as a bad flag
                print(f"error: {err}", file=sys.stderr)
                return 2
        code = main()
        if hasattr(signal, "pthread_sigmask"):
            if signal.SIGTERM in signal.sigpending() and signal.SIGTERM in (
                signal.pthread_sigmask(signal.SIG_BLOCK, ())
            ):
                print("terminated", file=sys.stderr)
                return 143
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})
        return code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    # As jaxgd.cli.run (not imported here: the listing imports no JAX).
    code = _run()
    if code == 0:  # a run that ended well skips the last garbage collections (~0.3 s)
        gc.freeze()
    elif code in STOPPED:  # Ctrl-C, SIGTERM: XLA may still be compiling; finalisers could crash
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(code)
    sys.exit(code)
