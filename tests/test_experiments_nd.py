"""The 2-D experiments (surface, basin_map) and the 2-D --function loader."""

from __future__ import annotations

import doctest
import importlib
import re
from pathlib import Path

import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
import pytest

import jaxgd
from jaxgd._cli_flags import UsageError
from jaxgd._cli_function import load_function_2d

PNG = b"\x89PNG\r\n\x1a\n"
HERE = "tests.test_experiments_nd"

SMALL = {
    "basin_map": ["--grid", "16", "--learning-rates", "0.001", "0.016", "2", "--epochs", "300"],
    "surface": ["--grid", "12", "--paths", "2", "--epochs", "100"],
}
FILES = {"basin_map": ["basin_map"], "surface": ["surface_paths", "surface_ends"]}


def tilted_bowls(p):
    """Two bowls, the left one deeper."""
    x, y = p[0], p[1]
    return (x**2 - 1.0) ** 2 + y**2 + 0.2 * x


tilted_bowls.domain = ((-2.0, 2.0), (-1.5, 1.5))


def undefined_in_float32_fails_in_float64(p):
    # NaN at every start in float32; in float64 it raises (it was written for float32 only).
    if p.dtype == jnp.float64:
        raise TypeError("this f takes float32 points only")
    return jnp.sqrt(-1.0 - p[0] ** 2) + p[1] ** 2


def half_undefined_2d(p):
    """sqrt(x) + y^2: NaN for x < 0 in any precision, so --x64 cannot help there."""
    return jnp.sqrt(p[0]) + p[1] ** 2


def one_d(x):
    return x**2


def ring(p):
    """Minimal on the whole unit circle: not isolated points."""
    return (p[0] ** 2 + p[1] ** 2 - 1.0) ** 2


ring.domain = ((-2.0, 2.0), (-2.0, 2.0))


def three_coordinates(p):
    return p[0] ** 2 + p[1] ** 2 + p[2] ** 2


def vector_valued(p):
    return p**2


@pytest.fixture(autouse=True)
def _no_figures_left():
    before = set(plt.get_fignums())
    yield
    assert set(plt.get_fignums()) == before


def run(name, argv, out, capsys):
    module = importlib.import_module(f"experiments.{name}")
    code = module.main([*argv, "--out", str(out)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize("name", list(SMALL))
def test_runs_and_writes_its_figures(name, tmp_path, capsys):
    code, out, err = run(name, SMALL[name], tmp_path, capsys)
    assert (code, err) == (0, "")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"{s}.png" for s in FILES[name])
    for stem in FILES[name]:
        path = tmp_path / f"{stem}.png"
        assert path.read_bytes()[:8] == PNG
        assert f"wrote {path}" in out


def test_basin_map_shares(tmp_path, capsys):
    code, out, _ = run("basin_map", SMALL["basin_map"], tmp_path, capsys)
    assert code == 0
    assert out.startswith("f: himmelblau")
    assert "16 x 16 starts x 2 learning rates x 300 epochs: 512 runs in one sweep" in out
    assert "4 local minima (known for this f): (-3.77931, -3.28319) global" in out
    rows = re.findall(r"^  rate (\S+): (.*)$", out, re.MULTILINE)
    assert [r for r, _ in rows] == ["0.001", "0.016"]
    for _, text in rows:
        shares = [float(v) for v in re.findall(r"([\d.]+)%", text)]
        assert abs(sum(shares) - 100.0) < 0.3  # rounding of six shares to 0.1%
    small = [float(v) for v in re.findall(r"\) ([\d.]+)%", rows[0][1])]
    assert len(small) == 4 and all(15 < s < 35 for s in small)  # four basins of like size
    # 0.016 > 2 / 133.8, the largest curvature at (-3.78, -3.28): no run settles there.
    assert "(-3.779, -3.283) 0.0%" in rows[1][1]


@pytest.mark.thorough
@pytest.mark.parametrize(
    ("name", "function", "flat"),
    [
        ("basin_map", "ring", True),
        ("surface", "ring", True),
        ("basin_map", "rastrigin", False),
        ("surface", "tilted_bowls", False),
    ],
)
def test_minima_that_form_a_curve_are_said_to(name, function, flat, tmp_path, capsys):
    # The ring's hundreds of minima found, most runs "near none" though they ended on it,
    # and nothing said why. Rastrigin's 121 strict minima are isolated: no note.
    spec = function if function == "rastrigin" else f"{__name__}:{function}"
    code, out, err = run(name, [*SMALL[name], "--function", spec], tmp_path, capsys)
    assert (code, err) == (0, "")
    note = re.search(r"note: at (\d+) of these (\d+) minima f is flat along some direction", out)
    assert bool(note) == flat
    if flat:
        assert int(note.group(1)) >= 8 and "form a curve or a region" in out


@pytest.mark.parametrize(
    ("domain", "count"),
    [(["-1", "1", "-1", "1"], 9), (["-6.5", "6.5", "-6.5", "6.5"], 169)],
    ids=["narrower", "wider"],
)
def test_a_built_in_on_another_domain_has_that_domains_minima(domain, count, tmp_path, capsys):
    # Rastrigin's list holds its 121 minima on [-5.12, 5.12]^2: on another --domain it was
    # still used, runs at the minima beyond it were "near none", and a square with 9 minima
    # said 121.
    argv = ["--function", "rastrigin", "--domain", *domain, "--grid", "16"]
    argv += ["--learning-rates", "0.001", "0.002", "2", "--epochs", "2000"]
    code, out, _ = run("basin_map", argv, tmp_path, capsys)
    assert code == 0
    assert f"\n{count} local minima" in out
    rows = re.findall(r"^  rate (\S+): (.*)$", out, re.MULTILINE)
    assert rows and all("near none 0.0%" in text for _, text in rows), rows


@pytest.mark.thorough
def test_many_minima_name_the_global_one_and_shares_add_up(tmp_path, capsys):
    # Rastrigin at a stable rate: every start ends at one of its 121 minima. The list of
    # minima was cut to the first by index, without (0, 0), and surface's shares named six
    # minima and no others: 6% of the 12 x 12 grid's starts, where every one settled.
    argv = ["--function", "rastrigin", "--grid", "12", "--paths", "3", "--epochs", "300"]
    code, out, err = run("surface", [*argv, "--learning-rate", "0.001"], tmp_path, capsys)
    assert (code, err) == (0, "")
    assert "121 local minima: the global minimum (0, 0), f = 0; the local minimum" in out
    rows = re.findall(r"^(.*) grid starts.*, share ending at each minimum: (.*)$", out, re.M)
    assert [r for r, _ in rows] == ["9", "12 x 12"], out
    for _, text in rows:
        assert re.search(r"\d+ other minima [\d.]+%", text), text
        shares = [float(v) for v in re.findall(r"([\d.]+)%", text)]
        assert abs(sum(shares) - 100.0) < 0.5, text  # rounding to 0.1%
        assert text.endswith("near none 0.0%, diverged 0.0%"), text
    argv = ["--function", "rastrigin", "--grid", "12", "--learning-rates", "0.001", "0.002", "2"]
    code, out, err = run("basin_map", [*argv, "--epochs", "300"], tmp_path, capsys)
    assert (code, err) == (0, "")
    assert "121 local minima (known for this f): (0, 0) global, (-4.97469, -4.97469)," in out


def test_surface_report(tmp_path, capsys):
    argv = [*SMALL["surface"], "--start", "0.5", "-1.0"]
    code, out, _ = run("surface", argv, tmp_path, capsys)
    assert code == 0
    assert "3 local minima" in out
    assert re.search(
        r"start \(--start\): \(0\.5, -1\) -> after 100 epochs .*reached the global "
        r"minimum \(0\.228279, -1\.62554\)",
        out,
    )
    assert "4 grid starts drawn as paths, share ending at each minimum:" in out
    assert "12 x 12 grid starts, share ending at each minimum:" in out
    assert "diverged:" not in out and "of the runs diverged" not in out


def test_surface_says_one_epoch_in_the_singular(tmp_path, capsys):
    argv = ["--grid", "4", "--paths", "1", "--epochs", "1", "--start", "0.5", "-1.0"]
    code, out, err = run("surface", argv, tmp_path, capsys)
    assert (code, err) == (0, "")
    assert "start (--start): (0.5, -1) -> after 1 epoch (" in out, out


def test_surface_says_why_every_run_diverged(tmp_path, capsys):
    # Rosenbrock at the default rate 0.02: 100% diverged and nothing said why. Its Hessian at
    # (1, 1) has eigenvalues 0.4 and 1001.6: plain descent is stable there below 2/1001.6.
    argv = [*SMALL["surface"], "--function", "rosenbrock", "--learning-rate", "0.02"]
    code, out, _ = run("surface", argv, tmp_path, capsys)
    assert code == 0
    assert "note: 100% of the runs diverged: the learning rate 0.02 is too large here" in out
    assert "rates below 2/1001.6 = 0.002; try --learning-rate 0.001" in out


def test_surface_says_when_f_itself_overflows_at_the_starts(tmp_path, capsys):
    # On a domain of width 2e30, f overflows float32 at the starts themselves: the note said
    # the learning rate was too large, which no rate fixes.
    argv = [*SMALL["surface"], "--domain", "-1e30", "1e30", "-1", "1"]
    code, out, _ = run("surface", argv, tmp_path, capsys)
    assert code == 0
    assert "is not finite in float32 at any of the starts, so no learning rate helps" in out
    assert "choose a --domain where f is finite, or check the formula of f, or compute in " in out
    assert "float64 with --x64" in out
    assert "is too large here" not in out


def test_surface_does_not_advise_x64_where_f_is_undefined_in_float64_too(tmp_path, capsys):
    # sqrt(x) is NaN for x < 0 in every precision: --x64 changes nothing there.
    argv = [*SMALL["surface"], "--function", f"{HERE}:half_undefined_2d", "--learning-rate", "0.1"]
    code, out, _ = run("surface", argv, tmp_path, capsys)
    assert code == 0
    assert "is not finite in float32 at" in out and "choose a smaller --domain" in out
    assert "--x64" not in out.split("note:")[1]


def test_the_x64_advice_is_left_out_where_f_fails_in_float64(tmp_path, capsys):
    # The advice runs f in float64 after the float32 run: an f that raises there ended the
    # finished run with a traceback.
    f = f"{HERE}:undefined_in_float32_fails_in_float64"
    argv = [*SMALL["surface"], "--function", f, "--learning-rate", "0.1"]
    code, out, err = run("surface", argv, tmp_path, capsys)
    assert (code, err) == (0, "")
    # Undefined at every start in float32: the domain or f's formula is the fix.
    assert "is not finite in float32 at any of the starts" in out
    assert "choose a --domain where f is finite, or check the formula of f" in out
    assert "--x64" not in out.split("note:")[1]


def test_basin_map_says_why_most_runs_diverged(tmp_path, capsys):
    # Rosenbrock: at 0.016 every run diverges, at 0.001 none; once nothing was said why. The
    # note names the rate (0.016 here), the stable bound 2/1001.6 and a grid flag to try.
    argv = [*SMALL["basin_map"], "--function", "rosenbrock", "--epochs", "100"]
    code, out, _ = run("basin_map", argv, tmp_path, capsys)
    assert code == 0
    assert "rate 0.016: " in out and "diverged 100.0%" in out
    assert re.search(
        r"^note: 100% of the runs at learning rate 0\.016 diverged: that rate is too large "
        r"here, and so would be any larger; .*rates below 2/1001\.6 = 0\.002; try "
        r"--learning-rates 0\.0001 0\.001 2$",
        out,
        re.M,
    ), out
    assert out.count("note: ") == 1


def test_basin_map_says_when_f_is_not_finite_at_the_starts(tmp_path, capsys):
    # sqrt(x) + y^2 on [-5, 5]^2: half the runs diverge at every rate, none for the rate's
    # sake; the note says so once, not once per rate, and names no rate to try.
    argv = [*SMALL["basin_map"], "--function", f"{HERE}:half_undefined_2d"]
    code, out, _ = run("basin_map", argv, tmp_path, capsys)
    assert code == 0
    (note,) = [t for t in out.splitlines() if t.startswith("note: ")]
    assert "of the runs at learning rate 0.001 diverged" in note
    assert "not finite in float32 at 50% of the starts themselves" in note
    assert "choose a smaller --domain" in note and "--x64" not in note
    assert "too large" not in note


def test_basin_map_says_nothing_where_few_runs_diverged(tmp_path, capsys):
    code, out, _ = run("basin_map", SMALL["basin_map"], tmp_path, capsys)
    assert code == 0
    assert "of the runs" not in out


def test_users_own_function(tmp_path, capsys):
    argv = [*SMALL["basin_map"], "--function", f"{HERE}:tilted_bowls", "--x64"]
    code, out, err = run("basin_map", argv, tmp_path, capsys)
    assert (code, err) == (0, "")
    assert out.startswith(f"f: {HERE}:tilted_bowls (Two bowls, the left one deeper.)")
    assert "on [-2, 2] x [-1.5, 1.5]; computed in float64" in out
    # Found by Newton: the two bowls' bottoms, roots of 4x^3 - 4x + 0.2 = 0 on y = 0.
    found = re.search(
        r"2 local minima \(found by multi-start Newton\): \((\S+), 0\) global, \((\S+), 0\)", out
    )
    assert found
    roots = np.sort(np.roots([4.0, 0.0, -4.0, 0.2]).real)
    got = [float(found.group(1)), float(found.group(2))]
    np.testing.assert_allclose(got, roots[[0, 2]], rtol=1e-5)


def far_bowl(p):
    """A bowl whose bottom, (6, 0.5), lies outside the default domain."""
    return 0.1 * ((p[0] - 6.0) ** 2 + (p[1] - 0.5) ** 2)


@pytest.mark.parametrize(
    ("module", "says"),
    [
        ("basin_map", r"\(6, 0\.5\) global outside the domain"),
        ("surface", r"the global minimum \(6, 0\.5\) outside the domain, f = "),
    ],
)
def test_a_minimum_outside_the_domain_is_said_to_be(module, says, tmp_path, capsys):
    # Minima found where runs ended, past the domain, were named as if on it; the 1-D
    # experiments say "outside the domain".
    argv = [*SMALL[module], "--function", f"{HERE}:far_bowl", "--x64"]
    if module == "basin_map":
        argv[argv.index("--learning-rates") + 1 : argv.index("--epochs")] = ["0.4", "0.5", "2"]
        argv[argv.index("--epochs") + 1] = "2000"
    else:
        argv[argv.index("--epochs") + 1] = "3000"
    code, out, err = run(module, argv, tmp_path, capsys)
    assert (code, err) == (0, "")
    assert re.search(says, out), out


def test_save_writes_the_sweep(tmp_path):
    module = importlib.import_module("experiments.basin_map")
    argv = [*SMALL["basin_map"], "--save", str(tmp_path / "res"), "--out", str(tmp_path)]
    before = set(plt.get_fignums())
    try:
        assert module.main.__wrapped__(argv) == 0
    finally:
        for n in set(plt.get_fignums()) - before:
            plt.close(n)
    res = jaxgd.load(tmp_path / "res.npz")
    assert res.dims == ("start", "learning_rate", "epochs", "coord")
    assert res.final.shape == (256, 2, 1, 2)


@pytest.mark.parametrize(
    ("name", "argv", "message"),
    [
        ("basin_map", ["--function", "notebook"], "--function 'notebook': not a built-in 2-D"),
        ("surface", ["--function", f"{HERE}:vector_valued"], "must return a real scalar"),
        ("surface", ["--function", f"{HERE}:nope"], "has no attribute 'nope'"),
        ("basin_map", ["--domain", "1", "0", "0", "1"], "--domain: the domain must be finite"),
        ("basin_map", ["--domain", "0", "1"], "--domain: expected 4 arguments"),
        ("basin_map", ["--grid", "1"], "--grid: expected a whole number >= 2"),
        ("surface", ["--start", "9", "0"], "--start: (9, 0) lies outside the domain"),
        ("surface", ["--paths", "0"], "--paths: expected a whole number >= 1"),
        ("basin_map", ["--tol", "0"], "--tol: must be > 0"),
    ],
)
def test_bad_flags_one_line(name, argv, message, tmp_path, capsys):
    code, out, err = run(name, argv, tmp_path, capsys)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and message in err, err
    assert not tmp_path.exists() or not any(tmp_path.iterdir())


def test_help_describes_2d_flags(capsys):
    module = importlib.import_module("experiments.basin_map")
    assert module.main(["-h"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "--domain X_LO X_HI Y_LO Y_HI" in text
    assert "default himmelblau" in text
    assert text.count("grid:") == 1  # --grid under the one heading, not a second "grid:"


def test_load_function_2d():
    fn = load_function_2d(f"{HERE}:tilted_bowls")
    assert fn.domain == ((-2.0, 2.0), (-1.5, 1.5)) and fn.minima == ()
    assert load_function_2d("rosenbrock").minima == ((1.0, 1.0),)
    with pytest.raises(UsageError, match="f\\(p\\) -> scalar of a point"):
        load_function_2d("numpy:pi")
    with pytest.raises(UsageError, match=r"shape \(2,\)"):
        load_function_2d(f"{HERE}:one_d")
    # JAX clamps p[2] of a point of R^2 to p[1]: refused, not run silently wrong
    with pytest.raises(UsageError, match=r"reads index 2 .* read only p\[0\] and p\[1\]\.$"):
        load_function_2d(f"{HERE}:three_coordinates")


def test_dimensions_page_examples():
    """docs/dimensions.md is not among the doctested pages of the config: run it here."""
    page = Path(__file__).resolve().parents[1] / "docs" / "dimensions.md"
    flags = doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS
    result = doctest.testfile(str(page), module_relative=False, optionflags=flags, verbose=False)
    assert result.attempted >= 20 and result.failed == 0


def test_surface_of_an_f_defined_nowhere_says_to_check_f_not_to_shrink_the_domain(tmp_path, capsys):
    # f NaN at every point: the note told to choose a smaller --domain, where no domain helps.
    argv = [*SMALL["surface"], "--function", "tests.fixtures_userfunc:nan_everywhere_2d"]
    code, out, _ = run("surface", argv, tmp_path, capsys)
    assert code == 0
    assert "not finite in float32 at any of the starts, so no learning rate helps" in out
    assert "choose a --domain where f is finite, or check the formula of f" in out
    assert "smaller --domain" not in out
