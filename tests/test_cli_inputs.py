"""Every bad input to an experiment: one line on stderr, exit status 2, nothing written.

A table of the inputs users reported (in-process, and a few as real ``python -m`` processes),
Ctrl-C as a real SIGINT, and random flag values and combinations for every experiment
(hypothesis): each run either exits 0 having written every file it announces, or exits 2 with
one line, no traceback and no file.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import matplotlib
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

matplotlib.use("Agg")

from tests.test_experiments import SMALL, USER

ROOT = Path(__file__).resolve().parents[1]


def call(name: str, argv: list[str]) -> tuple[int, str, str]:
    """``experiments.<name>.main(argv)`` in-process, with its stdout and stderr."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = importlib.import_module(f"experiments.{name}").main(argv)
    return code, out.getvalue(), err.getvalue()


def files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def assert_refused(code: int, out: str, err: str, folder: Path, expected: str) -> None:
    assert code == 2, (out, err)
    assert err.count("\n") == 1 and err.startswith("error: "), err
    assert expected in err
    assert "Traceback" not in err + out
    assert out == ""
    assert files_under(folder) == []


BAD = [
    ("learning_rate", ["--tol", "1e39"], "--tol: 1e+39 does not fit in float32"),
    (
        "surface",
        ["--paths", "100", "--epochs", "1000000", "--grid", "2"],
        "--epochs: the figure's 10001 paths keep every step",
    ),
    ("single_run", ["--start", "1e39"], "--start: 1e+39 does not fit in float32"),
    ("single_run", ["--seed", "1e30"], "--seed: expected a whole number <= 9223372036854775807"),
    ("start_location", ["--starts", "-5", "5", "1"], "--starts N: a swept axis needs at least 2"),
    ("convergence", ["--tol", "1e-30"], "--tol: 1e-30 is below what float32 resolves"),
    # Every point within tol of every minimum: "not converged" runs yet none "at no minimum".
    ("convergence", ["--tol", "100"], "--tol: 100 is not below the width of the domain"),
    ("single_run", ["--domain", "0", "1", "--tol", "1"], "is not below the width of the domain"),
    ("surface", ["--tol", "9"], "--tol: 9 is not below the diagonal of the domain (8.48528)"),
    # Three identical rows ran; --optimizers already refused a name given twice.
    ("function_family", ["--params", "1", "2", "1"], "--params: '1' is given twice"),
    ("function_family", ["--params", "0.1", "1e-1"], "'0.1' and '1e-1' are one float32 value"),
    ("lr_epochs", ["--epochs", "10", "500", "1"], "--epochs N: a swept axis needs at least 2"),
    ("lr_epochs", ["--start", "1e40"], "--start: 1e+40 does not fit in float32"),
    ("start_location", ["--start", "1.6"], "--start: did you mean --starts?"),
    ("single_run", ["--learning-rate", "1e-400"], "too small for float64 (it rounds to 0)"),
    ("learning_rate", ["--learning-rates", "1e-60", "1e-50", "3"], "1e-60 rounds to 0"),
    ("start_location", ["--starts", "-5", "5", "1e9"], "1e+09 runs need about"),
    ("random_starts", ["--repeats", "1e9"], "runs need about"),
    ("single_run", ["--start", "-inf"], "--start: expected a finite number, got '-inf'"),
    ("single_run", ["--start", "nan"], "--start: expected a finite number, got 'nan'"),
    ("lr_epochs", ["--learning-rates", "0", "1", "5", "log"], "log-spaced grid needs LO > 0"),
    ("single_run", ["--function", f"{USER}:with_while_loop"], "cannot be differentiated by jax"),
    ("lr_epochs", ["--function", f"{USER}:with_callback"], "cannot be differentiated by jax"),
    ("start_location", ["--function", f"{USER}:raises"], f"error: --function '{USER}:raises'"),
    ("convergence", ["--domain", "1", "1.0000001"], "is too narrow for float32"),
    ("derivative_check", ["--start", "-1e-3", "--bogus"], "unrecognized arguments: --bogus"),
    # basin_map ran a log-spaced grid whose first rate had silently become 0.
    (
        "basin_map",
        ["--learning-rates", "1e-50", "1", "3", "log", "--grid", "3"],
        "--learning-rates: 1e-50 rounds to 0 in float32 (smallest 1.4e-45); use a larger value or "
        "--x64",
    ),
    ("basin_map", ["--learning-rates", "0", "1e39", "3"], "--learning-rates: 1e+39 does not fit"),
    # A 2-D --domain past float32, at an end or in its width: inf starts, and a traceback.
    ("surface", ["--domain", "-1e39", "1", "-1", "1"], "--domain: -1e+39 does not fit in float32"),
    (
        "basin_map",
        ["--domain", "-1", "1", "-3e38", "3e38", "--grid", "3"],
        "--domain: [-3e+38, 3e+38] is wider than float32 holds (hi - lo is past 3.4e+38)",
    ),
    # A 1-D domain whose width overflows float32: the --tol the first error asked for led to a
    # traceback from find_minima; function_family's to "starts must be finite".
    (
        "lr_epochs",
        ["--domain", "-3e38", "3e38", "--tol", "1e33"],
        "--domain: [-3e+38, 3e+38] is wider than float32 holds (hi - lo is past 3.4e+38); "
        "narrow it, or use --x64",
    ),
    ("function_family", ["--domain", "-3e38", "3e38"], "is wider than float32 holds"),
    # The same domain as an attribute of f was blamed on --tol, which was never given.
    (
        "start_location",
        ["--function", f"{USER}:huge_domain"],
        f"--function '{USER}:huge_domain': its domain [-3e+38, 3e+38] is wider than float32",
    ),
    # A product of sizes past the largest float: an OverflowError traceback as it was printed.
    ("random_starts", ["--repeats", "1e308"], "x 1e+308 (--repeats) = 2e+311 runs need about"),
]


@pytest.mark.parametrize(("name", "argv", "expected"), BAD)
def test_bad_input_is_one_line_exit_2_and_no_file(name, argv, expected, tmp_path):
    folder = tmp_path / "out"
    code, out, err = call(name, [*argv, "--out", str(folder), "--save", str(folder / "r")])
    assert_refused(code, out, err, tmp_path, expected)


def test_a_narrow_domain_is_judged_by_the_floats_at_its_values(tmp_path):
    # [1e-6, 2e-6] holds about a million float32 values: it was refused with float32's
    # spacing at 1 (1.2e-7), and under --x64 the fix offered was --x64.
    folder = tmp_path / "out"
    code, out, err = call(
        "start_location", ["--domain", "1e-6", "2e-6", "--tol", "1e-9", "--out", str(folder)]
    )
    assert code == 0 and err == "", err
    assert (folder / "start_location.png").is_file()
    argv = ["--domain", "1", "1.0000000000000002", "--x64", "--out", str(tmp_path / "x")]
    code, out, err = call("start_location", argv)
    assert_refused(code, out, err, tmp_path / "x", "is too narrow for float64")
    assert "--x64" not in err


@pytest.mark.parametrize("name", ["single_run", "lr_epochs", "function_family", "surface"])
def test_a_bad_fast_math_variable_is_one_line_exit_2(name, tmp_path, monkeypatch):
    # It was a traceback from inside the first sweep, exit status 1.
    monkeypatch.setenv("JAXGD_FAST_MATH", "maybe")
    folder = tmp_path / "out"
    code, out, err = call(name, ["--out", str(folder), "--save", str(folder / "r")])
    assert_refused(code, out, err, tmp_path, "JAXGD_FAST_MATH='maybe' is not understood")


@pytest.mark.parametrize("name", ["single_run", "lr_epochs", "convergence"])
def test_bad_out_is_found_before_computing(name, tmp_path):
    (tmp_path / "a_file").write_text("")
    figure = {"single_run": "single_run", "lr_epochs": "lr_epochs_lines"}.get(name, name)
    (tmp_path / "taken" / f"{figure}.png").mkdir(parents=True)
    (tmp_path / "saved.npz").mkdir()
    cases = [
        (["--out", str(tmp_path / "a_file")], "is a file, not a folder"),
        (["--out", "/proc/jaxgd-x"], "--out '/proc/jaxgd-x': cannot create folders in /proc"),
        (["--out", str(tmp_path / "taken")], f"{figure}.png is a folder"),
        (["--save", str(tmp_path / "saved")], "--save: "),
    ]
    for argv, expected in cases:
        # The default grids: refused before computing, so at once.
        start = time.perf_counter()
        code, _, err = call(name, argv)
        assert time.perf_counter() - start < 60
        assert code == 2 and expected in err and err.count("\n") == 1, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file", "saved.npz", "taken"]
    assert [p.name for p in (tmp_path / "taken").iterdir()] == [f"{figure}.png"]


@pytest.mark.parametrize("experiment", ["single_run", "basin_map"])
@pytest.mark.parametrize("code", [3, None])
def test_f_that_exits_when_called_is_reported(tmp_path, monkeypatch, code, experiment):
    # SystemExit is not an Exception: the run ended silently with f's status.
    name = f"exits_{tmp_path.name}".replace("-", "_")
    (tmp_path / f"{name}.py").write_text(f"import sys\n\n\ndef f(x):\n    sys.exit({code})\n")
    monkeypatch.chdir(tmp_path)
    try:
        status, out, err = call(experiment, ["--function", f"{name}:f", "--out", "figs"])
    finally:
        sys.modules.pop(name, None)
    assert_refused(status, out, err, tmp_path / "figs", f"called sys.exit({code})")


def test_module_that_exits_on_import_is_reported(tmp_path, monkeypatch):
    name = f"exits_{tmp_path.name}".replace("-", "_")
    (tmp_path / f"{name}.py").write_text("import sys\n\nsys.exit(0)\n")
    monkeypatch.chdir(tmp_path)
    try:
        code, out, err = call("start_location", ["--function", f"{name}:f", "--out", "figs"])
    finally:
        sys.modules.pop(name, None)
    assert_refused(code, out, err, tmp_path / "figs", "called sys.exit(0)")
    # Nothing written but Python's own bytecode cache of the module, where that is on.
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "__pycache__") == [f"{name}.py"]


def _python_m(args: list[str], cwd: Path, **kwargs) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


def _wait_for_cpu_time(proc: subprocess.Popen, seconds: float, limit: float = 90.0) -> None:
    """Wait until ``proc`` has used ``seconds`` of CPU time (its own progress, whatever the
    machine's load), at most ``limit`` seconds; without /proc, sleep ``4 * seconds``."""
    stat = Path(f"/proc/{proc.pid}/stat")
    if not stat.exists():
        time.sleep(4 * seconds)
        return
    tick = os.sysconf("SC_CLK_TCK")
    until = time.monotonic() + limit
    while time.monotonic() < until and proc.poll() is None:
        fields = stat.read_text().rsplit(")", 1)[1].split()
        if (int(fields[11]) + int(fields[12])) / tick >= seconds:  # utime + stime
            return
        time.sleep(0.1)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["experiments.single_run", "--start", "1e39"], "--start: 1e+39 does not fit"),
        (["experiments.lr_epochs", "--start", "-1e-3", "--vmin", "-inf"], "--vmin: expected a"),
        (["experiments", "all", "--bogus", "1"], "--bogus: no experiment takes it"),
    ],
)
def test_bad_input_as_a_real_process(args, expected, tmp_path):
    done = _python_m([*args, "--out", str(tmp_path / "figs")], tmp_path)
    _, err = done.communicate(timeout=300)
    assert done.returncode == 2
    assert err.count("\n") == 1 and expected in err and "Traceback" not in err
    assert files_under(tmp_path) == []


@pytest.mark.thorough
def test_ctrl_c_stops_with_one_line_and_status_130(tmp_path):
    # The notebook's own deriv descends in a Python loop: a billion epochs run for hours.
    proc = _python_m(
        ["experiments.derivative_check", "--epochs", "1e9", "--out", "figs", "--save", "r"],
        tmp_path,
    )
    # Imported, checked and well into the loop: a whole run of one epoch (imports, checks,
    # the figure) takes about 1.5 s of CPU time.
    _wait_for_cpu_time(proc, 4.0)
    assert proc.poll() is None
    proc.send_signal(signal.SIGINT)
    sent = time.perf_counter()
    out, err = proc.communicate(timeout=60)
    assert time.perf_counter() - sent < 30
    assert proc.returncode == 130
    assert err == "interrupted\n"
    assert out == ""
    assert files_under(tmp_path) == []


_SAVING = """
import os, time
from matplotlib.figure import Figure
from jaxgd import _cli_output, cli

@cli.command
def main(argv):
    ctx = cli.setup(cli.parser("test_run", "A test run."), argv, figures=("one", "two"))
    fig = Figure()
    fig.subplots().plot([0, 1])
    ctx.save(fig, "one")

    def slowly(step):
        def slow(*args):
            print("saving", flush=True)
            # A long save in small steps, as a real one (Python code between short C calls):
            # the kernel may hand SIGTERM to any thread, and the main thread's handler then
            # runs at its next step; inside one 60 s sleep, only when the sleep ends.
            for _ in range(1200):
                time.sleep(0.05)
            return step(*args)
        return slow

    if STAGE == "drawing":  # the figure drawn in memory: no file yet
        _cli_output._png_drawn_once = slowly(_cli_output._png_drawn_once)
    else:  # its temporary file written, not yet on the disk nor renamed
        _cli_output.os.fsync = slowly(os.fsync)
    ctx.save(fig, "two")
    return ctx.finish()

cli.run(main)
"""


@pytest.mark.thorough
@pytest.mark.skipif(sys.platform == "win32", reason="SIGTERM to a subprocess is POSIX")
@pytest.mark.parametrize(("signum", "code", "word"), [
    (signal.SIGTERM, 143, "terminated"), (signal.SIGINT, 130, "interrupted")])  # fmt: skip
@pytest.mark.parametrize("stage", ["drawing", "writing"])
def test_a_signal_while_a_figure_is_saved_leaves_no_temporary_file(
    signum, code, word, stage, tmp_path
):
    # `kill PID` ended the process on the spot: the hidden temporary file beside the figure
    # being written stayed behind. It stops the run as Ctrl-C does. A figure is drawn in
    # memory, then written: each stage is interrupted in turn.
    out = tmp_path / "figs"
    script = f"STAGE = {stage!r}\n{_SAVING}"
    proc = subprocess.Popen(
        [sys.executable, "-c", script, "--out", str(out), "--no-cache"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout.readline() == "saving\n", proc.stderr.read()
        temporary = [p.name for p in out.iterdir() if p.name.endswith(".tmp")]
        assert len(temporary) == (stage == "writing"), temporary
        proc.send_signal(signum)
        got, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert (proc.returncode, err, got) == (
        code,
        f"{word}; already written: {out / 'one.png'}\n",
        "",
    )
    assert [p.name for p in out.iterdir()] == ["one.png"]


_HANDLERS = """
import signal
from jaxgd import cli

@cli.command
def main(argv):
    print(signal.getsignal(signal.SIGTERM) is cli._on_sigterm)
    return 0

main([])
print(signal.getsignal(signal.SIGTERM) is signal.SIG_DFL)
signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a program's own choice is left alone
main([])
print(signal.getsignal(signal.SIGTERM) is signal.SIG_IGN)
"""


def test_a_run_catches_sigterm_only_while_it_runs_and_only_in_place_of_the_default():
    done = subprocess.run(
        [sys.executable, "-c", _HANDLERS],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (done.returncode, done.stdout.split()) == (0, ["True", "True", "False", "True"])


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("JAX_PLATFORMS", "nonsense", "error: JAX_PLATFORMS='nonsense': JAX cannot start it ("),
        ("MPLBACKEND", "nonsense", "error: MPLBACKEND='nonsense' is not a backend matplotlib"),
    ],
)
def test_an_environment_jax_or_matplotlib_refuses_is_one_line_exit_2(
    variable, value, expected, tmp_path
):
    # Each was a traceback, exit 1: from the first jax.devices(), from importing matplotlib.
    done = subprocess.run(
        [sys.executable, "-m", "experiments.single_run", "--out", str(tmp_path / "out")],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), variable: value},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith(expected) and done.stderr.count("\n") == 1, done.stderr
    assert done.stdout == "" and not (tmp_path / "out").exists()


@pytest.mark.thorough
@pytest.mark.slow
def test_ctrl_c_inside_a_compiled_sweep_exits_cleanly(tmp_path):
    # 1e5 starts for 1e6 epochs: minutes of compiled calls, one after another. A Ctrl-C
    # leaves the call in flight; the exit must wait for it, not tear JAX down under it.
    proc = _python_m(
        ["experiments.start_location", "--starts", "-5", "5", "100000", "--epochs", "1e6"],
        tmp_path,
    )
    time.sleep(8)  # imported (~1 s), compiled (~1 s) and well into the calls
    assert proc.poll() is None
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert (proc.returncode, err, out) == (130, "interrupted\n", "")
    assert files_under(tmp_path) == []


def _sigint_held(pid: int) -> bool | None:
    """Whether process ``pid`` blocks SIGINT (Linux's /proc); None once it has exited."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("SigBlk:"):
                    return bool(int(line.split()[1], 16) >> (signal.SIGINT - 1) & 1)
    except FileNotFoundError:
        return None
    return False


@pytest.mark.thorough
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc")
@pytest.mark.parametrize("command", [["experiments.lr_epochs"], ["experiments", "lr_epochs"]])
@pytest.mark.parametrize("after", [0.0, 0.3])
def test_ctrl_c_while_the_run_imports_is_held_then_stops_it(command, after, tmp_path):
    # Raised during the imports, a KeyboardInterrupt can crash an extension module's
    # initialisation, or vanish in JAX's garbage-collector callback and let the run go on.
    proc = _python_m([*command, "--out", "figs"], tmp_path)
    start = time.perf_counter()
    while not _sigint_held(proc.pid):
        assert proc.poll() is None and time.perf_counter() - start < 60
        time.sleep(0.001)
    time.sleep(after)  # still importing jax: that takes ~1 s after the hold begins
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert (proc.returncode, err, out) == (130, "interrupted\n", "")
    assert files_under(tmp_path) == []


@pytest.mark.parametrize(("argv0", "held"), [("-c", False), ("-m", True)])
def test_ctrl_c_is_held_and_resent_only_for_python_m(argv0, held):
    # While `python -m experiments.x` locates its module, sys.argv[0] is "-m".
    code = (
        f"import sys; sys.argv[0] = {argv0!r}; import signal, experiments; "
        "print(signal.SIGINT in signal.pthread_sigmask(signal.SIG_BLOCK, ()), "
        "sys.unraisablehook is experiments._unraisable)"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env, timeout=60
    )
    assert (done.returncode, done.stdout.split()) == (0, [str(held)] * 2), done.stderr


@pytest.fixture
def python_sigint():
    """Python's own SIGINT handler for the test (a test runner's worker may have another)."""
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, before)


def test_a_held_ctrl_c_is_raised_when_delivered(python_sigint):
    from jaxgd import cli

    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        signal.raise_signal(signal.SIGINT)  # pending: nothing raised yet
        with pytest.raises(KeyboardInterrupt):
            cli.deliver_held_interrupt()
            for _ in range(1000):  # raised at once, at the latest at the next call
                time.sleep(0.001)
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    cli.deliver_held_interrupt()  # nothing held: nothing happens


def test_a_ctrl_c_while_a_flag_check_waits_for_its_imports_stops_it(
    python_sigint, tmp_path, monkeypatch
):
    # A check_flags call ends as the run's background imports begin (matplotlib, ~1 s); the
    # wait for them at the end dropped a Ctrl-C as if it were a second one, the check
    # returned 0, and `python -m experiments all` ran every experiment after a Ctrl-C.
    import threading

    from jaxgd import cli
    from jaxgd.plotting._common import import_in_background, wait_for_imports

    (tmp_path / "jaxgd_slow_import_for_test.py").write_text("import time\ntime.sleep(1.5)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "jaxgd_slow_import_for_test", raising=False)
    main_thread = threading.main_thread().ident

    @cli.command
    def main(argv=None):
        p = cli.parser("experiments.demo", "Demo.")
        cli.add_grid_args(p, start=0.0, learning_rate=0.1, epochs=10)
        cli.setup(p, argv)
        wait_for_imports()  # the run's own, if any: the slow one below is the one waited for
        import_in_background(["jaxgd_slow_import_for_test"])
        threading.Timer(0.3, signal.pthread_kill, (main_thread, signal.SIGINT)).start()
        cli.checked()
        raise AssertionError("not reached in a check")

    said = io.StringIO()
    with contextlib.redirect_stderr(said):
        code = cli.check_flags(main, ["--out", str(tmp_path / "figs")])
    assert code == 130 and said.getvalue().strip() == "interrupted"
    monkeypatch.delitem(sys.modules, "jaxgd_slow_import_for_test", raising=False)


def test_a_ctrl_c_swallowed_in_a_gc_callback_is_sent_again(python_sigint, monkeypatch):
    # JAX's collector callback runs at every collection: a KeyboardInterrupt raised in it is
    # swallowed ("Exception ignored") and the run would go on.
    import gc

    import experiments

    monkeypatch.setattr(sys, "unraisablehook", experiments._unraisable)
    swallowed = []

    def callback(phase, info):
        if not swallowed:
            swallowed.append(phase)
            raise KeyboardInterrupt

    gc.callbacks.append(callback)
    try:
        with pytest.raises(KeyboardInterrupt):
            gc.collect()
            for _ in range(5000):  # sent again after 10 ms
                time.sleep(0.001)
    finally:
        gc.callbacks.remove(callback)
    assert swallowed == ["start"]


def test_other_unraisable_exceptions_reach_pythons_hook(capsys):
    import experiments

    class Broken:
        def __del__(self):
            raise ValueError("from __del__")

    hook = sys.unraisablehook
    sys.unraisablehook = experiments._unraisable
    try:
        Broken()
    finally:
        sys.unraisablehook = hook
    err = capsys.readouterr().err
    assert "ValueError: from __del__" in err


# -- fuzz ------------------------------------------------------------------------------------

NUMBERS = ["0", "1", "-1", "2", "-1e-3", "0.05", "+3", ".5", "1_0", "-2.5E0", "1e39", "-inf",
           "inf", "nan", "1e-400", "abc", "", "1e12", "3.5", "-0", "1e-45"]  # fmt: skip
COUNTS = ["2", "3", "1", "0", "-2", "2.5", "1e12", "x", "1_0"]
EPOCHS = ["0", "1", "7", "20", "-1", "2.5", "1e12", "1e-400", "nan"]
FUNCTIONS = ["notebook", "double_well", "saddle", "steep_wall", "nope", f"{USER}:wavy",
             f"{USER}:with_callback", f"{USER}:vector"]  # fmt: skip

number = st.sampled_from(NUMBERS)


def _grid(values: st.SearchStrategy) -> st.SearchStrategy:
    ends = st.tuples(values, values, st.sampled_from(COUNTS))
    return st.tuples(ends, st.sampled_from([(), ("log",), ("lin",)])).map(lambda t: [*t[0], *t[1]])


FLAGS = {
    "--start": number.map(lambda v: [v]),
    "--starts": _grid(number),
    "--learning-rate": number.map(lambda v: [v]),
    "--learning-rates": _grid(number),
    "--epochs": st.one_of(
        st.sampled_from(EPOCHS).map(lambda v: [v]), _grid(st.sampled_from(EPOCHS))
    ),
    "--repeats": st.sampled_from(COUNTS).map(lambda v: [v]),
    "--tol": number.map(lambda v: [v]),
    "--seed": st.sampled_from(["0", "7", "-1", "1e30", "2.5", "9223372036854775807"]).map(
        lambda v: [v]
    ),
    "--domain": st.tuples(number, number).map(list),
    "--function": st.sampled_from(FUNCTIONS).map(lambda v: [v]),
    "--format": st.sampled_from(["png", "svg", "gif"]).map(lambda v: [v]),
    "--vmin": number.map(lambda v: [v]),
    "--vmax": number.map(lambda v: [v]),
    "--x64": st.just([]),
    "--star": st.just(["1"]),
}


@pytest.mark.thorough
@pytest.mark.parametrize("name", list(SMALL))
@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_fuzz_flags_exit_0_with_files_or_2_with_one_line(name, data):
    chosen = data.draw(st.lists(st.sampled_from(sorted(FLAGS)), max_size=3, unique=True))
    argv = list(SMALL[name])
    for flag in chosen:
        argv += [flag, *data.draw(FLAGS[flag])]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "out"
        code, out, err = call(name, [*argv, "--out", str(folder), "--save", str(folder / "r")])
        assert "Traceback" not in out + err
        if code == 0:
            announced = [Path(line[6:]) for line in out.splitlines() if line.startswith("wrote ")]
            assert files_under(folder) == sorted(announced)
            assert err == ""
        else:
            assert_refused(code, out, err, folder, "")


@pytest.mark.parametrize(
    ("n", "per"),
    [(9996 * 10**397, 1), (10**400 - 1, 1), (10**309, 1), (2**1100, 1), (9999 * 10**305, 1),
     (10**320 * 2**30, 2**30), (12345, 1), (3 << 30, 2**30)],
    ids=lambda v: f"{len(str(v))}-digits",
)  # fmt: skip
def test_huge_counts_print_as_three_digits_times_a_power_of_ten(n, per):
    # Past the largest float, 9.996e400 was printed '10e+400': the mantissa rounded to 10.
    from decimal import Decimal

    from jaxgd import cli

    text = cli._sized(n, per)
    mantissa, _, exponent = text.partition("e+")
    assert 1 <= float(mantissa) < 10 or not exponent
    shown = Decimal(mantissa) * 10 ** int(exponent or 0)
    exact = Decimal(n) / Decimal(per)
    assert abs(shown - exact) <= exact * Decimal("0.005")


ODD = ["", " ", "nan", "-inf", "1e400", "-1e400", "1e-400", "-0", "0", "1", "2", "-5", "0.5",
       "99999999999999999999999999", "18446744073709551616", "1e39", "x", "é", "∞", "0x10",
       "\uff11", "\u0663", "1_0", "log", "3 4", "True", "/", "."]  # fmt: skip
EXPERIMENTS = ["single_run", "start_location", "learning_rate", "lr_epochs", "random_starts",
               "basin_map", "convergence", "derivative_check", "function_family", "optimizers",
               "surface"]  # fmt: skip


def _flag_words(action, data) -> list[str]:
    """The words after one of ``action``'s flags: odd values, as many as it takes or not."""
    n = action.nargs
    count = {None: 1, "?": data.draw(st.integers(0, 1))}.get(n, n)
    if not isinstance(count, int):  # "+" / "*": a grid's LO HI N [log], or a list
        count = data.draw(st.integers(0, 5))
    odd = st.sampled_from(ODD) if not action.choices else st.sampled_from([*action.choices, "X"])
    return [data.draw(odd) for _ in range(count)]


@pytest.mark.parametrize("name", EXPERIMENTS)
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_fuzz_every_experiments_own_flags_is_status_0_or_one_line_and_2(name, data):
    # Flags only (cli.check_flags computes nothing): every flag of the module's own parser,
    # given twice or not at all, with odd values, an unknown flag now and then.
    from jaxgd import cli

    module = importlib.import_module(f"experiments.{name}")
    actions = [a for a in module.parser()._actions if a.option_strings and a.dest != "help"]
    chosen = data.draw(st.lists(st.sampled_from(actions), max_size=4))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "out"
        argv = ["--out", str(folder)]
        for action in chosen:
            argv += [data.draw(st.sampled_from(action.option_strings)), *_flag_words(action, data)]
        argv += data.draw(st.sampled_from([[], ["--bogus"], ["--"], ["--epoch", "5"]]))
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cli.check_flags(module.main, argv)
        err = err.getvalue()
        assert "Traceback" not in out.getvalue() + err
        assert code in (0, 2), (argv, code, err)
        if code == 2:
            assert err.count("\n") == 1 and err.startswith("error: "), (argv, err)
        else:
            assert err == "", (argv, err)
        assert files_under(Path(tmp)) == []
