"""List the experiments, or run one or all of them: ``python -m experiments [all|NAME] ...``.

    python -m experiments                     # one line per experiment
    python -m experiments all --out figures   # every experiment, figures into one folder
    python -m experiments lr_epochs --start 1.6

``all`` passes the flags that follow to every experiment, so give only flags they share
(--function, --domain, --tol, --seed, --x64, --out, --format). An experiment is any module of
this package with a ``main(argv) -> int``; its docstring's first line is its summary.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
import sys
from pathlib import Path

#: The notebook's order; modules not named here follow, alphabetically.
ORDER = ("single_run", "start_location", "learning_rate", "lr_epochs", "random_starts")
HERE = Path(__file__).resolve().parent


def experiments() -> dict[str, str]:
    """Every experiment module, in running order, with its one-line summary.

    Read from the source (without importing), so the listing is instant.
    """
    found = {}
    for info in pkgutil.iter_modules([str(HERE)]):
        if info.name.startswith("_") or info.ispkg:
            continue
        tree = ast.parse((HERE / f"{info.name}.py").read_text(encoding="utf-8"))
        has_main = any(
            isinstance(node, ast.FunctionDef) and node.name == "main" for node in tree.body
        )
        if has_main:
            doc = ast.get_docstring(tree) or ""
            found[info.name] = doc.strip().splitlines()[0] if doc.strip() else ""
    rank = {name: i for i, name in enumerate(ORDER)}
    return {n: found[n] for n in sorted(found, key=lambda n: (rank.get(n, len(ORDER)), n))}


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
        print(f"  {'all':<{width}}  run every experiment above, with the flags that follow")
        return 0
    name, rest = argv[0], argv[1:]
    if name == "all":
        for each in found:
            print(f"== {each} ==", flush=True)
            code = importlib.import_module(f"experiments.{each}").main(rest)
            if code:
                return code
        return 0
    if name not in found:
        print(
            f"error: no experiment named {name!r}; choose one of: {', '.join(found)}, all",
            file=sys.stderr,
        )
        return 2
    return importlib.import_module(f"experiments.{name}").main(rest)


if __name__ == "__main__":
    sys.exit(main())
