"""jaxgd.cli: the flags, --function loading and error reporting the experiments share."""

from __future__ import annotations

import math
import os
import re
import sys
import warnings
from pathlib import Path

import jax
import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from jaxgd import analysis, cli, functions
from jaxgd._cli_function import load_function_2d

USER = "tests.fixtures_userfunc"


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _parser(**grid):
    p = cli.parser("experiments.demo", "Demo.\n\nLonger text.")
    cli.add_grid_args(p, **grid)
    cli.add_color_args(p)
    return p


def _setup(argv, **grid):
    grid = grid or {
        "starts": cli.Grid(-5, 5, 50),
        "learning_rates": cli.Grid(1e-10, 0.1, 50),
        "epochs": cli.Grid(10, 500, 40),
    }
    return cli.setup(_parser(**grid), argv)


# -- --function ------------------------------------------------------------------------------


def test_builtin_name_is_the_registry_entry():
    assert cli.load_function("notebook") is functions.get("notebook")
    assert cli.load_function("double_well").domain == (-2.0, 2.0)


def test_user_function_reads_its_domain_or_uses_the_notebooks():
    wavy = cli.load_function(f"{USER}:wavy")
    assert wavy.domain == (-3.0, 3.0)
    assert wavy.name == f"{USER}:wavy"
    assert wavy.description.startswith("cos(3x)")
    assert float(wavy.f(0.0)) == 1.0
    assert cli.load_function(f"{USER}:bowl").domain == cli.NOTEBOOK_DOMAIN


def test_user_function1d_object_is_used_as_is():
    from tests.fixtures_userfunc import SPEC

    assert cli.load_function(f"{USER}:SPEC") is SPEC


def test_user_module_is_imported_from_the_current_directory(tmp_path, monkeypatch):
    name = f"userf_{tmp_path.name}".replace("-", "_")
    (tmp_path / f"{name}.py").write_text(
        "import jax.numpy as jnp\n\ndef f(x):\n    return (x - 0.5) ** 2\n\nf.domain = (-1, 2)\n"
    )
    monkeypatch.chdir(tmp_path)
    path_before = list(sys.path)
    try:
        fn = cli.load_function(f"{name}:f")
    finally:
        sys.modules.pop(name, None)
    assert fn.domain == (-1.0, 2.0)
    assert float(fn.f(0.5)) == 0.0
    assert sys.path == path_before  # the current directory was only added for the import


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("nope", "not a built-in function (built-ins: notebook"),
        ("no_such_module_xyz:f", "no module named 'no_such_module_xyz'"),
        (f"{USER}:missing", f"module {USER} has no attribute 'missing'"),
        (f"{USER}:NOT_CALLABLE", "int is not callable"),
        (f"{USER}:vector", "must return a scalar for a scalar x; it returned shape (2,)"),
        (f"{USER}:numpy_written", "calls NumPy on its argument"),
        (f"{USER}:raises", "raised ZeroDivisionError while being traced on a scalar float32 x"),
        (f"{USER}:with_while_loop", "cannot be differentiated by jax.grad"),
        (f"{USER}:with_callback", "cannot be differentiated by jax.grad"),
        (f"{USER}:bad_domain", "domain must be finite with lo < hi"),
        (f"{USER}:", "write module:attr"),
        (":f", "write module:attr"),
        # A file's path: a TypeError about relative imports, or "no module named 'f.py'".
        (
            "./mine:f",
            "write the module's name, not its file's path: run from the folder that "
            "holds mine.py and write --function mine:f.",
        ),
        ("src/mine.py:f", "the folder that holds mine.py and write --function mine:f."),
        ("mine.py:f", "the folder that holds mine.py and write --function mine:f."),
        # A Windows path was cut at its drive's colon ("no module named 'C'"); a leading dot
        # was repeated back as the fix (".mine.py", "--function .mine:f").
        ("C:\\src\\mine.py:f", "the folder that holds mine.py and write --function mine:f."),
        ("C:/src/mine.py:f", "the folder that holds mine.py and write --function mine:f."),
        (".mine:f", "the folder that holds mine.py and write --function mine:f."),
        (".pkg.mod:f", "the folder that holds pkg/mod.py and write --function pkg.mod:f."),
    ],
)
def test_bad_function_is_one_clear_line(spec, expected):
    with pytest.raises(cli.UsageError) as info:
        cli.load_function(spec)
    message = str(info.value)
    assert expected in message
    assert "\n" not in message
    assert message.startswith(f"--function {spec!r}")


def test_a_family_f_of_x_and_theta_is_pointed_to_function_family():
    # The hint was code with the flag's words in it: "lambda x: --function 'm:g'(x, 0.5)".
    spec = "tests.fixtures_userfunc:slope_family"
    with pytest.raises(cli.UsageError) as info:
        cli.load_function(spec)
    message = str(info.value)
    assert "e.g. lambda x: slope_family(x, 0.5)." in message
    assert f"python -m experiments.function_family --function {spec} --params" in message
    assert "\n" not in message


@pytest.mark.parametrize("code", ["0", "None", "'bye'", "3"])
def test_a_module_that_exits_on_import_is_reported(code, tmp_path, monkeypatch):
    name = f"exits_{tmp_path.name}".replace("-", "_")
    (tmp_path / f"{name}.py").write_text(
        f"import sys\n\nsys.exit({code})\n\ndef f(x):\n    return x\n"
    )
    monkeypatch.chdir(tmp_path)
    try:
        with pytest.raises(cli.UsageError) as info:
            cli.load_function(f"{name}:f")
    finally:
        sys.modules.pop(name, None)
    assert str(info.value).startswith(f"--function '{name}:f': importing {name} called sys.exit(")
    assert "if __name__" in str(info.value)


def test_missing_dependency_of_a_user_module_is_not_reported_as_the_module(tmp_path, monkeypatch):
    name = f"needs_dep_{tmp_path.name}".replace("-", "_")
    (tmp_path / f"{name}.py").write_text("import not_installed_dep_xyz\n")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(cli.UsageError, match=f"importing {name} failed: ModuleNotFoundError"):
        cli.load_function(f"{name}:f")


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("no_such_module_xyz:df", "no module named 'no_such_module_xyz'"),
        (f"{USER}:missing", f"module {USER} has no attribute 'missing'"),
        (f"{USER}:NOT_CALLABLE", "int is not callable"),
        ("df_only", "write module:attr, e.g. mymodule:df for `def df(x)`"),
    ],
)
def test_bad_derivative_is_one_clear_line_naming_its_flag(spec, expected):
    with pytest.raises(cli.UsageError) as info:
        cli.load_derivative(spec)
    message = str(info.value)
    assert message.startswith(f"--derivative {spec!r}: ")
    assert expected in message
    assert "\n" not in message


def test_derivative_is_imported_as_it_is():
    from tests.fixtures_userfunc import bowl

    assert cli.load_derivative(f"{USER}:bowl") is bowl
    assert cli.load_derivative("numpy:cos") is np.cos


# -- grids -----------------------------------------------------------------------------------


def test_flags_after_a_bare_double_dash_are_not_called_typos():
    with pytest.raises(cli.UsageError) as err:
        _parser(start=0.0, learning_rate=0.1, epochs=10).parse_args(["--", "--start", "1"])
    assert "(--: words after -- are not read as flags; remove the --)" in str(err.value)
    assert "did you mean" not in str(err.value)


def test_a_value_that_looks_negative_is_read_as_given():
    # argparse reads -5 as a number only with a space before it; the space is not the value:
    # --out -5 wrote into the folder " -5", --save -1e3 to " -1e3.npz".
    p = _parser(starts=cli.Grid(-5, 5, 50), learning_rate=0.1, epochs=10)
    argv = ["--out", "-5", "--save", "-1e3", "--function", "-1", "--starts", "-3", "-1", "2"]
    args = p.parse_args([*argv, "--learning-rate", " -2"])
    assert (args.out, args.save, args.function) == (Path("-5"), "-1e3", "-1")
    assert args.starts == ["-3", "-1", "2"]
    assert args.learning_rate == " -2"  # a space the user gave is kept


@pytest.mark.parametrize("seed", ["0", "7"])
def test_a_seeds_random_start_is_the_same_in_float64(seed):
    # --x64 changes the arithmetic, not the run: the same seed starts at the same point.
    starts = []
    for x64 in (False, True):
        with jax.enable_x64(x64):
            ctx = _setup(["--seed", seed], start="random", learning_rate=0.01, epochs=10)
            starts.append(ctx.start)
    assert starts[0] == starts[1]


def test_default_grids_are_the_notebooks():
    ctx = _setup([])
    np.testing.assert_allclose(ctx.starts, np.linspace(-5, 5, 50), rtol=1e-6)
    np.testing.assert_allclose(ctx.learning_rates, np.linspace(1e-10, 1e-1, 50), rtol=1e-6)
    np.testing.assert_array_equal(ctx.epochs, np.round(np.linspace(10, 500, 40)))
    assert ctx.starts.dtype == np.float32
    assert ctx.function is functions.get("notebook")
    assert ctx.domain == pytest.approx((-2 * math.pi, 2 * math.pi))
    assert ctx.tol == 1e-3


def test_fixed_axes_and_their_flags():
    grid = {"start": 0.0, "learning_rate": 0.01, "epochs": 1000}
    ctx = _setup([], **grid)
    assert (ctx.start, ctx.learning_rate, ctx.epochs) == (0.0, 0.01, 1000)
    ctx = _setup(["--start", "1.6", "--learning-rate", "0.5", "--epochs", "1e3"], **grid)
    assert (ctx.start, ctx.learning_rate, ctx.epochs) == (1.6, 0.5, 1000)
    with pytest.raises(AttributeError, match="no 'starts' axis"):
        _ = ctx.starts


def test_start_grid_follows_the_functions_own_domain():
    assert _setup(["--function", "double_well"]).starts.tolist() == pytest.approx(
        np.linspace(-2, 2, 50).tolist(), rel=1e-6
    )
    assert _setup(["--function", f"{USER}:wavy"]).starts[[0, -1]].tolist() == [-3.0, 3.0]
    # No domain attribute: the notebook's grid, as for the notebook's f.
    assert _setup(["--function", f"{USER}:bowl"]).starts[[0, -1]].tolist() == [-5.0, 5.0]
    ctx = _setup(["--domain", "-1", "1"])
    assert ctx.domain == (-1.0, 1.0)
    assert ctx.starts[[0, -1]].tolist() == [-1.0, 1.0]
    assert _setup(["--starts", "0", "1", "3"]).starts.tolist() == [0.0, 0.5, 1.0]


def test_default_start_outside_the_domain_is_its_midpoint():
    ctx = _setup(["--function", f"{USER}:shifted_bowl"], start=0.0, learning_rate=0.1, epochs=5)
    assert ctx.start == 2.0
    assert _setup([], start=0.0, learning_rate=0.1, epochs=5).start == 0.0


def test_random_start_is_seeded_and_on_the_notebooks_grid():
    grid = {"start": "random", "learning_rate": 0.01, "epochs": 10}
    starts = [_setup(["--seed", str(s)], **grid).start for s in (0, 0, 1, 2)]
    assert starts[0] == starts[1]
    assert len(set(starts)) == 3
    x = np.linspace(-2 * np.pi, 2 * np.pi, 401)
    assert all(np.isclose(x, s, rtol=0, atol=1e-12).any() for s in starts)
    ctx = _setup(["--start", "2"], **grid)
    assert ctx.start == 2.0
    assert not ctx.start_is_random
    assert _setup([], **grid).start_is_random


def test_x64_makes_every_grid_float64():
    before = bool(jax.config.jax_enable_x64)
    try:
        ctx = _setup(["--x64"])
        assert ctx.starts.dtype == np.float64
        assert ctx.learning_rates.dtype == np.float64
    finally:
        jax.config.update("jax_enable_x64", before)


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--epochs", "10", "5", "3"], "--epochs: LO must not exceed HI"),
        (["--epochs", "10", "500", "0"], "--epochs N: expected a whole number >= 1"),
        (["--epochs", "10", "500", "2.5"], "--epochs N: expected a whole number"),
        (["--epochs", "-10", "500", "3"], "--epochs: epochs must be >= 0"),
        (["--epochs", "10", "500"], "--epochs: expected LO HI N (N evenly spaced values) or"),
        (["--epochs", "10", "500", "3", "lin"], "or LO HI N log (log-spaced), got '10 500 3 lin'"),
        (
            ["--learning-rates", "0", "1", "3", "log"],
            "--learning-rates: a log-spaced grid needs LO",
        ),
        (["--starts", "1", "1", "3"], "--starts: LO and HI are both 1"),
        (["--starts", "0", "1", "1"], "--starts N: a swept axis needs at least 2 values"),
        (["--learning-rates", "-1", "1", "3"], "--learning-rates: learning_rates must be >= 0"),
        (["--starts", "a", "1", "3"], "--starts: expected a number, got 'a'"),
        (["--starts", "0", "inf", "3"], "--starts: expected a finite number"),
        (["--domain", "3", "1"], "--domain: LO must be below HI"),
        (["--tol", "0"], "--tol: must be > 0"),
        (["--seed", "-1"], "--seed: expected a whole number >= 0"),
        (["--vmin", "2", "--vmax", "1"], "--vmin must be below --vmax"),
        (["--format", "gif"], "argument --format: invalid choice"),
        (["--bogus"], "unrecognized arguments: --bogus; python -m experiments.demo takes: "),
        (["--start", "1"], "(--start: did you mean --starts?)"),
        (["--seed", "1e30"], "--seed: expected a whole number <= 9223372036854775807"),
        (["--tol", "1e-30"], "--tol: 1e-30 is below what float32 resolves on the domain"),
        (["--domain", "1", "1.0000001"], "--domain: [1, 1] is too narrow for float32"),
        (["--domain", "-1e39", "0"], "--domain: -1e+39 does not fit in float32"),
        # The fix is the flag --x64, not the library's jax.config.update(...).
        (["--starts", "-1e39", "0", "3"], "--starts: -1e+39 does not fit in float32 (largest "),
        (["--learning-rates", "0", "1e39", "3"], "3.4e+38); use a smaller value or --x64 for"),
        (["--learning-rates", "1e-50", "1e-40", "3"], "--learning-rates: 1e-50 rounds to 0"),
        (["--starts", "-5", "5", "1e9"], "--starts, --learning-rates, --epochs: 1e+09 (--starts)"),
        (["--tol", "-inf"], "--tol: expected a finite number, got '-inf'"),
    ],
)
def test_bad_flag_is_a_usage_error_naming_it(argv, expected):
    with pytest.raises(cli.UsageError) as info:
        _setup(argv)
    assert expected in str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("name", functions.names())
def test_tol_too_fine_suggests_a_tol_the_analysis_takes_without_a_warning(name):
    # The tol the error suggests must not be one nearest_minimum then warns is finer than
    # runs settle within at a minimum of the domain (that warning is an error here).
    with pytest.raises(cli.UsageError, match="use --tol ") as info:
        _setup(["--function", name, "--tol", "1e-30"])
    suggested = str(info.value).split("use --tol ")[1].split()[0]
    ctx = _setup(["--function", name, "--tol", suggested])
    analysis.nearest_minimum(np.asarray(ctx.minima.x), ctx.minima, tol=ctx.tol)


def test_flag_errors_prefixes_the_flag():
    with pytest.raises(cli.UsageError, match=r"^--x: bad value$"), cli.flag_errors("--x"):
        raise ValueError("bad value\nmore detail")


# -- summaries -------------------------------------------------------------------------------


def test_minima_and_tally_text():
    ctx = _setup([])
    assert ctx.describe_minima() == (
        "local minima of f on [-6.28319, 6.28319]: x = -1.42887 (f = -0.893875, global), "
        "x = 4.3058 (f = -0.363478)"
    )
    lines = ctx.tally([-1.42887, -1.4289, 4.3058, 0.5, np.inf], noun="runs")
    assert lines == [
        "reached the global minimum x = -1.42887 (within 0.001): 2 of 5 runs",
        "reached the local minimum x = 4.3058 (within 0.001): 1 of 5 runs",
        "within 0.001 of no minimum: 1 of 5 runs (final guesses 0.5 to 0.5)",
        "diverged: 1 of 5 runs",
    ]
    assert ctx.ended_at(np.nan) == "the run diverged"
    assert ctx.ended_at(4.3) == (
        "the run is within 0.001 of no local minimum: the nearest, x = 4.3058, is 0.0058012 away"
    )


def test_minimum_at_the_origin_prints_as_zero():
    ctx = _setup(["--function", "steep_wall"])
    assert ctx.global_minimum == (0.0, 0.0)


def test_tied_global_minima_are_all_global():
    ctx = _setup(["--function", f"{USER}:wavy"])
    assert len(ctx.global_minima) == 2
    assert ctx.describe_minima().count("global") == 2
    assert ctx.ended_at(1.0244).startswith("the run reached the global minimum")


# -- command and output ----------------------------------------------------------------------


@cli.command
def _demo(argv=None) -> int:
    p = _parser(start=0.0, learning_rate=0.1, epochs=3)
    ctx = cli.setup(p, argv)
    fig, ax = plt.subplots()
    ax.plot([0, 1], [ctx.start, ctx.learning_rate])
    ctx.save(fig, "demo")
    print(f"dtype {np.asarray(ctx.learning_rate, dtype=jax.numpy.result_type(float)).dtype}")
    return ctx.finish()


def test_command_reports_a_usage_error_as_one_line(capsys, tmp_path):
    assert _demo(["--function", "nope", "--out", str(tmp_path)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith("error: --function 'nope': not a built-in function")
    assert "Traceback" not in err
    assert not any(tmp_path.iterdir())


def test_command_says_each_warning_once_on_one_line(capsys):
    # A library warning raised by two calls was Python's two lines, twice, naming a line of
    # the experiment's own file.
    @cli.command
    def warns(argv=None) -> int:
        for _ in range(2):
            warnings.warn("tol is finer than\n  float32 resolves", UserWarning, stacklevel=1)
        warnings.warn("another one", UserWarning, stacklevel=1)
        return 0

    with warnings.catch_warnings():
        warnings.simplefilter("always")
        before = warnings.showwarning
        assert warns([]) == 0
        assert warnings.showwarning is before
    out, err = capsys.readouterr()
    assert out == ""
    assert err == "warning: tol is finer than float32 resolves\nwarning: another one\n"


def test_command_help_explains_every_flag_and_returns_0(capsys):
    assert _demo(["-h"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: python -m experiments.demo")
    for flag in ("--function", "--domain", "--tol", "--seed", "--x64", "--out", "--format"):
        assert flag in out
    for flag in ("--show", "--start", "--learning-rate", "--epochs", "--vmin", "--vmax"):
        assert flag in out
    assert "notebook, double_well" in out


def test_command_saves_restores_x64_and_closes_figures(capsys, tmp_path):
    x64 = bool(jax.config.jax_enable_x64)
    figures = plt.get_fignums()
    assert _demo(["--x64", "--out", str(tmp_path), "--format", "svg"]) == 0
    out = capsys.readouterr().out
    assert "dtype float64" in out
    assert f"wrote {tmp_path / 'demo.svg'}" in out
    assert (tmp_path / "demo.svg").read_text().lstrip().startswith("<?xml")
    assert bool(jax.config.jax_enable_x64) == x64
    assert plt.get_fignums() == figures


def test_show_without_a_display_says_so(capsys, tmp_path):
    assert _demo(["--show", "--out", str(tmp_path)]) == 0
    assert "--show: no window can open here" in capsys.readouterr().out


def test_save_figure_writes_a_png(tmp_path):
    fig, ax = plt.subplots()
    ax.plot([0, 1])
    path = cli.save_figure(fig, tmp_path / "sub", "x")
    assert path == tmp_path / "sub" / "x.png"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="fmt must be one of png, svg, pdf"):
        cli.save_figure(fig, tmp_path, "x", "gif")


# -- numbers, grids and output paths ---------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [("-1e-3", -1e-3), ("1_000", 1000.0), ("+3", 3.0), (".5", 0.5), ("-.5e1", -5.0), ("0", 0.0)],
)
def test_every_float_python_reads_is_a_number(text, value):
    assert cli.number("--x", text) == value
    ctx = _setup(["--starts", text, "2000", "3", "--domain", text, "2001"])
    assert ctx.starts[0] == np.float32(value)
    assert ctx.domain[0] == value


def test_negative_numbers_in_any_notation_are_values_not_flags():
    grid = {"start": 0.0, "learning_rate": 0.01, "epochs": 10}
    assert _setup(["--start", "-1e-3"], **grid).start == -1e-3
    assert _setup(["--start=-2E+0"], **grid).start == -2.0
    ctx = _setup(["--starts", "-1e-3", "1", "5", "--domain", "-1e1", "10"])
    assert ctx.starts[0] == np.float32(-1e-3) and ctx.domain == (-10.0, 10.0)


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--learning-rate", "1e-400"], "'1e-400' is too small for float64 (it rounds to 0)"),
        (["--learning-rate", "1e-46"], "--learning-rate: 1e-46 rounds to 0 in float32"),
        (["--start", "1e39"], "--start: 1e+39 does not fit in float32 (largest 3.4e+38)"),
        (["--start", "nan"], "--start: expected a finite number, got 'nan'"),
        (["--start", "-inf"], "--start: expected a finite number, got '-inf'"),
    ],
)
def test_values_that_round_away_are_refused(argv, expected):
    with pytest.raises(cli.UsageError) as info:
        _setup(argv, start=0.0, learning_rate=0.01, epochs=10)
    assert expected in str(info.value)


def test_values_that_round_away_in_float32_are_fine_in_float64():
    before = bool(jax.config.jax_enable_x64)
    try:
        ctx = _setup(["--x64", "--start", "1e39"], start=0.0, learning_rate=0.01, epochs=10)
        assert ctx.start == 1e39
    finally:
        jax.config.update("jax_enable_x64", before)


def test_log_spaced_grid():
    ctx = _setup(
        ["--learning-rates", "1e-4", "1", "5", "log", "--epochs", "10", "1000", "3", "log"]
    )
    np.testing.assert_allclose(ctx.learning_rates, [1e-4, 1e-3, 1e-2, 1e-1, 1.0], rtol=1e-6)
    assert ctx.epochs.tolist() == [10, 100, 1000]
    assert ctx.grid("learning_rates").log and not ctx.grid("starts").log
    assert str(ctx.grid("learning_rates")) == "0.0001 1 5 log"


def test_memory_is_planned_before_any_array_is_made():
    # 1e6 x 1e6 cells would take terabytes; refused from the flags alone, at once.
    with pytest.raises(
        cli.UsageError, match=r"x 40 \(--epochs\) = 4e\+13 runs need about [\d.]+e\+06 GiB"
    ):
        _setup(["--starts", "0", "1", "1e6", "--learning-rates", "0", "1", "1e6"])


def test_stretches_say_where_a_minimum_was_reached():
    assert cli.stretches([3, 1, 2, 0], [True, False, True, False]) == "from 2 to 3"
    assert cli.stretches([0, 1, 2], [False, False, True]) == "= 2"
    assert cli.stretches(range(10), [1, 0, 1, 0, 1, 0, 1, 0, 1, 1], most=2) == (
        "in 5 stretches: 0, 2 and 3 more"
    )
    assert cli.plural(1, "epoch") == "1 epoch" and cli.plural(2, "start") == "2 starts"


def test_out_is_checked_without_writing(tmp_path):
    grid = {"start": 0.0, "learning_rate": 0.01, "epochs": 10}
    (tmp_path / "file").write_text("")
    with pytest.raises(cli.UsageError, match=r"'.*file': is a file, not a folder"):
        _setup(["--out", str(tmp_path / "file")], **grid)
    with pytest.raises(cli.UsageError, match=r"lies inside .*file, which is a file"):
        _setup(["--out", str(tmp_path / "file" / "sub")], **grid)
    with pytest.raises(cli.UsageError, match="cannot create folders in /proc"):
        _setup(["--out", "/proc/jaxgd-x"], **grid)
    (tmp_path / "figs" / "demo.png").mkdir(parents=True)
    p = _parser(**grid)
    with pytest.raises(cli.UsageError, match=r"--out: .*demo.png is a folder"):
        cli.setup(p, ["--out", str(tmp_path / "figs")], figures=["demo"])
    with pytest.raises(cli.UsageError, match=r"--save: .*run.npz is a folder"):
        (tmp_path / "figs" / "run.npz").mkdir()
        cli.setup(p, ["--save", str(tmp_path / "figs" / "run")])
    ok = cli.setup(p, ["--out", str(tmp_path / "new" / "deeper")], figures=["demo"])
    assert not (tmp_path / "new").exists()  # checked, not created
    assert ok.args.out == tmp_path / "new" / "deeper"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["figs", "file"]


# -- default starts --------------------------------------------------------------------------


@pytest.mark.parametrize("name", functions.names())
def test_each_builtin_starts_at_its_own_default_start(name):
    ctx = _setup(["--function", name], start="function", learning_rate=0.01, epochs=10)
    spec = functions.get(name)
    assert ctx.start == spec.default_start
    lo, hi = spec.domain
    assert lo <= ctx.start <= hi
    assert ctx.describe_start() == f"{name}'s default start"
    if name != "notebook":  # 0 is a minimum or a stationary point of several
        assert float(jax.grad(spec.f)(ctx.start)) != 0.0
        assert ctx.stationary(ctx.start) is None


def test_a_stationary_start_is_said():
    ctx = _setup(["--function", "saddle", "--start", "0"], start="function", learning_rate=0.1,
                 epochs=10)  # fmt: skip
    assert ctx.stationary(0.0) == (
        "note: x0 = 0 is a stationary point of f (f'(x0) = 0): descent never moves from it; "
        "choose another --start"
    )
    assert ctx.stationary([-1.0, 0.0, 1.0]) == (
        "note: 2 starts of 3 (x0 = 0, 1) are stationary points of f (f'(x0) = 0), where descent "
        "never moves"
    )


def test_a_users_start_attribute_is_its_default_start():
    ctx = _setup([f"--function={USER}:wavy"], start="function", learning_rate=0.01, epochs=10)
    assert ctx.start == 0.4
    with pytest.raises(cli.UsageError, match="its start 9 lies outside its domain"):
        cli.load_function(f"{USER}:start_outside")


@pytest.mark.parametrize(
    ("name", "said"),
    [
        ("start_is_bool", "its start attribute must be a number; got True."),
        # NaN is in no domain: it was said to lie "outside its domain [-6.28319, 6.28319]".
        ("start_is_nan", "its start attribute must be a finite number; got nan."),
        ("domain_of_bools", "its domain attribute must be two numbers (lo, hi); got (np.False_"),
    ],
)
def test_a_bool_or_nan_in_a_users_start_or_domain_attribute_is_refused(name, said):
    # float(True) is 1: start = True ran from 1, and domain = (False, True) drew f on [0, 1],
    # where the library refuses a bool for a start or a bound.
    with pytest.raises(cli.UsageError, match=re.escape(said)):
        cli.load_function(f"{USER}:{name}")
    with pytest.raises(cli.UsageError, match="its minima attribute must be a list of points"):
        load_function_2d(f"{USER}:bowl_2d_minima_bool")


def test_a_users_listed_minimum_outside_its_domain_is_one_line():
    # Function2D refuses a minimum off its domain; from the command line that was a traceback.
    with pytest.raises(cli.UsageError, match=r"\(7, 0\) lies outside its domain .* no domain attr"):
        load_function_2d(f"{USER}:bowl_2d_minimum_outside")


_RUN = """
import sys
from jaxgd import cli

def main():
    with open(sys.argv[1], "w") as fh:
        fh.write("written")
    print("no newline at the end", end="")
    if sys.argv[2] == "raise":
        raise RuntimeError("boom")
    return int(sys.argv[2])

cli.run(main)
"""


@pytest.mark.parametrize("status", ["0", "2", "130", "raise"])
def test_run_exits_with_mains_status_and_loses_no_output(status, tmp_path):
    import os
    import subprocess
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    out = tmp_path / "file.txt"
    done = subprocess.run(
        [sys.executable, "-c", _RUN, str(out), status],
        capture_output=True,
        text=True,
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        timeout=120,
    )
    assert done.stdout == "no newline at the end"
    assert out.read_text() == "written"
    if status == "raise":  # an exception exits as usual: its traceback and status 1
        assert done.returncode == 1 and "RuntimeError: boom" in done.stderr
    else:
        assert done.returncode == int(status) and done.stderr == ""


@pytest.mark.parametrize(("status", "frozen"), [(0, True), (None, True), (1, False), (2, False)])
def test_run_skips_the_last_collections_only_after_a_run_that_ended_well(
    status, frozen, monkeypatch
):
    import gc

    calls = []
    monkeypatch.setattr(gc, "freeze", lambda: calls.append("freeze"))
    with pytest.raises(SystemExit) as info:
        cli.run(lambda: status)
    assert info.value.code == status
    assert calls == (["freeze"] if frozen else [])


def test_run_ends_an_interrupted_run_without_finalisers(monkeypatch):
    # XLA may still be compiling after a Ctrl-C; the interpreter's finalisation crashed in it.
    # (tests/test_interrupt.py runs it for real, in a subprocess.)
    import gc

    class Exited(Exception):
        pass

    def exit_now(code):
        raise Exited(code)

    calls = []
    monkeypatch.setattr(gc, "freeze", lambda: calls.append("freeze"))
    monkeypatch.setattr(os, "_exit", exit_now)
    for stopped in (130, 143):  # Ctrl-C, SIGTERM
        with pytest.raises(Exited) as info:
            cli.run(lambda stopped=stopped: stopped)
        assert info.value.args == (stopped,) and calls == []


def test_a_long_run_on_a_terminal_says_it_is_still_working(capsys, monkeypatch):
    # A slowly compiling f (a long Python loop in it) printed nothing for tens of seconds.
    cli_module = cli
    assert cli_module._still_working_notice() is None  # not a terminal: never
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    monkeypatch.setattr(cli_module, "STILL_WORKING_S", 0.01)
    timer = cli_module._still_working_notice()
    timer.join(5)
    assert capsys.readouterr().err.startswith("still working: a new f is compiled")
    quick = cli_module._still_working_notice()
    quick.cancel()  # a run that ends first: nothing said
    quick.join(5)
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("n", [3, 400])
def test_the_colour_limits_of_a_map_of_one_value_say_so(n):
    # Every run from a start where f is flat stays there: the limits are a range made up
    # around that value, which no percentile of the data gave.
    from jaxgd.plotting._common import color_limits

    values = np.r_[np.full(n, 4.0), np.nan]
    lo, hi = color_limits(values)
    assert lo < 4.0 < hi
    line = cli.color_limits_line(values, lo, hi, None, None)
    assert (
        line == f"{cli.num(lo)} to {cli.num(hi)} (every finite value is 4: a small range around it)"
    )


@pytest.mark.parametrize(("beyond", "words"), [(1, "1 cell beyond it"), (3, "3 cells beyond it")])
def test_the_colour_limits_cut_to_the_span_count_the_cells_beyond_it(beyond, words):
    values = np.r_[np.linspace(-1.0, 1.0, 20), np.full(beyond, 1e6)]
    line = cli.color_limits_line(values, -1.0, 2.0, None, None, cut=(-2.0, 2.0))
    verb = "takes" if beyond == 1 else "take"
    assert f"{words}, far from every minimum, {verb} the colour bar's end colours" in line, line


@pytest.mark.parametrize("n", [3, 50, 51, 400])
def test_the_colour_limits_line_names_where_the_limits_came_from(n):
    from jaxgd.plotting._common import color_limits

    values = np.linspace(0.0, 1.0, n) ** 3
    lo, hi = color_limits(values)
    line = cli.color_limits_line(values, lo, hi, None, None)
    # a map of 50 values or fewer is drawn from its smallest to its largest value, whole
    if n <= 50:
        assert (lo, hi) == (0.0, 1.0)
        assert "(the smallest to the largest finite value)" in line
    else:
        assert lo > 0.0 and hi < 1.0
        assert "(2nd to 98th percentile of the finite values)" in line
    lo, hi = color_limits(values, vmin=0.5)
    top = "the top from the largest value" if n <= 50 else "the top from the 98th percentile"
    assert f"(--vmin; {top})" in cli.color_limits_line(values, lo, hi, 0.5, None)
