"""What a user meets at the command line with functions and flags off the beaten path: each
case a way a run misled, crashed or lost track of its files, checked against an independent
count where it states numbers."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import numpy as np
import pytest

import experiments.__main__ as listing
import jaxgd
from jaxgd import cli
from jaxgd.functions2d import Function2D
from tests.fixtures_userfunc import cubic
from tests.test_experiments import USER, run


def _wells(p):
    return (p[0] ** 2 - 1) ** 2 + p[1] ** 2


WELLS = Function2D(
    "wells", _wells, ((-2.0, 2.0), (-2.0, 2.0)), "two wells", ((1.0, 0.0),), (0.5, 0.2)
)


def test_epoch_counts_that_round_alike_are_swept_once(tmp_path, capsys):
    save = tmp_path / "r.npz"
    argv = ["--epochs", "1", "3", "10", "--learning-rates", "0.01", "0.1", "3", "--save", str(save)]
    code, out, err = run("lr_epochs", argv, tmp_path, capsys)
    assert code == 0, err
    assert "note: --epochs 1 3 10 rounds to 3 distinct epoch counts (of 10 asked)" in out
    assert "3 epoch counts from 1 to 3: 9 cells" in out
    np.testing.assert_array_equal(jaxgd.load(save).epochs, [1, 2, 3])
    # The counts of the summary are over those 9 cells, each once.
    assert re.search(r"of 9 cells", out)


def test_eighty_minima_run_and_name_the_rest_in_one_legend_entry(tmp_path, capsys):
    code, out, err = run(
        "start_location", ["--function", f"{USER}:many_wells", "--starts", "-5", "5", "20"],
        tmp_path, capsys,
    )  # fmt: skip
    assert code == 0, err
    inside = re.search(r"local minima of f on \S+ \S+ ([^;]*)", out).group(1)
    assert re.search(r", and \d+ more$", inside) and inside.count("(f = ") == 12


def test_a_local_minimum_is_not_called_global_without_saying_f_is_lower_at_an_end(tmp_path, capsys):
    code, out, err = run("start_location", ["--function", f"{USER}:cubic"], tmp_path, capsys)
    assert code == 0, err
    lo = -2 * np.pi
    assert f"f is lower at the end x = {cli.num(lo)} (f = {cli.num(cubic(lo))})" in out
    assert "'global' means the lowest local minimum" in out


def test_an_incomplete_minima_list_is_completed_from_where_runs_ended(tmp_path, capsys):
    argv = ["--function", f"{USER}:tilted_well_listed_partly", "--grid", "20"]
    code, out, err = run("basin_map", argv, tmp_path, capsys)
    assert code == 0, err
    assert "minima list misses 1 minimum found from where runs ended: (-1.03" in out
    assert "2 local minima (1 known for this f, 1 more found by Newton): (-1.03" in out
    assert re.search(r"\(-1\.03\d*, 0\) global, \(0\.9604, 0\)", out), out
    # No run that settled is left "near none" at the rates that converge.
    assert "rate 0.016: " in out and "near none 0.0%" in out.split("rate 0.016: ")[1]


@pytest.mark.parametrize("make_file", [True, False], ids=["an existing file", "a .npz name"])
def test_all_save_takes_a_folder_and_says_so_before_running(make_file, tmp_path, capsys):
    target = tmp_path / "res.npz"
    if make_file:
        target.write_text("not a result")
    assert listing.main(["all", "--save", str(target), "--out", str(tmp_path / "f")]) == 2
    err = capsys.readouterr().err
    assert err.count("error:") == 1 and "--save" in err and "folder" in err
    assert not (tmp_path / "f").exists()
    assert target.exists() == make_file and (not make_file or target.read_text() == "not a result")


def test_a_negative_ends_rate_is_refused(tmp_path, capsys):
    code, _, err = run("optimizers", ["--ends-rate", "-1"], tmp_path, capsys)
    assert code == 2 and "--ends-rate: a learning rate is >= 0" in err
    assert not list(tmp_path.iterdir())


def only(monkeypatch, *names):
    """``python -m experiments all`` over ``names`` only (each experiment runs in its own
    tests; these check what ``all`` does with them)."""
    every = listing.experiments()
    monkeypatch.setattr(listing, "experiments", lambda: {n: every[n] for n in names})


def test_function_family_of_a_plain_f_is_an_error_alone_and_skipped_under_all(
    tmp_path, capsys, monkeypatch
):
    code, out, err = run("function_family", ["--function", "double_well"], tmp_path, capsys)
    assert code == 2 and "is a function of x alone" in err
    only(monkeypatch, "lr_epochs", "function_family", "surface")
    argv = ["all", "--function", "double_well", "--out", str(tmp_path / "all"), "--grid", "5"]
    code = listing.main(argv)
    out = capsys.readouterr().out
    assert "nothing to run: --function double_well is a function of x alone" in out
    assert re.search(r"function_family\s+ok", out)


def test_a_ctrl_c_after_files_were_written_names_them(tmp_path, capsys):
    @cli.command
    def main(argv):
        ctx = cli.setup(cli.parser("test_run", "A test run."), argv, figures=("one", "two"))
        from jaxgd import plotting

        fig = plotting.plot_function(lambda x: x**2, (-1.0, 1.0))
        ctx.save(fig, "one")
        raise KeyboardInterrupt

    assert main(["--out", str(tmp_path)]) == 130
    err = capsys.readouterr().err
    assert err.strip() == f"interrupted; already written: {tmp_path / 'one.png'}"


def test_derivative_check_says_where_a_flat_or_infinite_derivative_stands(tmp_path, capsys):
    argv = ["--function", f"{USER}:square", "--derivative", f"{USER}:flat_derivative",
            "--start", "0.5"]  # fmt: skip
    code, out, err = run("derivative_check", argv, tmp_path, capsys)
    assert code == 0, err
    # trunc(0.5) = 0: the given derivative is 0 where descent starts, and it stays there.
    assert f"{USER}:flat_derivative is zero at x = 0.5, where its descent ended" in out
    assert "autodiff f' is zero at x = 0, where its descent ended" in out


def test_derivative_check_says_a_kinked_derivative_jumps_not_that_it_is_zero(tmp_path, capsys):
    # |x| + 0.1 x^2: f' jumps from -1 to +1 at 0 and is zero nowhere; the summary said
    # "autodiff f' is zero at x = 0" two lines after printing f'(0) = 1.
    argv = ["--function", f"{USER}:kinked_bowl", "--derivative",
            f"{USER}:kinked_bowl_derivative", "--start", "1.3", "--domain", "-2", "2",
            "--tol", "0.01"]  # fmt: skip
    code, out, err = run("derivative_check", argv, tmp_path, capsys)
    assert code == 0, err
    assert "autodiff f' jumps from - to + at x = 0, where its descent ended" in out
    assert f"{USER}:kinked_bowl_derivative jumps from - to + at x = 0, where" in out
    assert "is zero at" not in out


def test_a_2d_functions_start_attribute_is_used_and_checked(tmp_path, capsys):
    argv = ["--function", f"{USER}:bowl_2d_started", "--grid", "5"]
    code, out, err = run("surface", argv, tmp_path, capsys)
    assert code == 0, err
    assert "start (f's start attribute): (2, -3) -> after 500 epochs" in out
    argv = ["--function", f"{USER}:bowl_2d_nan_start", "--grid", "5"]
    code, out, err = run("surface", argv, tmp_path / "nan", capsys)
    assert code == 2 and "its start attribute must be a finite point" in err


def test_single_run_that_diverged_draws_no_point_and_says_so(tmp_path, capsys):
    from jaxgd import plotting

    code, out, err = run(
        "single_run", ["--function", f"{USER}:overflowing", "--start", "0.5"], tmp_path, capsys
    )
    assert code == 0, err
    assert "minimum found: none, the run diverged" in out
    fig = plotting.plot_function(lambda x: x**2, (-1.0, 1.0), points=[float("nan")], start=0.5)
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels == ["f(x)", "f'(x) (autodiff)", "start"]
    plotting.close(fig)


@pytest.mark.thorough
def test_every_missing_minimum_is_found_wherever_the_runs_ended(tmp_path, capsys):
    argv = ["--function", f"{USER}:four_wells_listed_one", "--grid", "60"]
    code, out, err = run("basin_map", argv, tmp_path, capsys)
    assert code == 0, err
    assert "misses 3 minima found from where runs ended: (-2, 0), (-1, 0), (1, 0)" in out
    line = next(t for t in out.splitlines() if t.startswith("  rate 0.006:"))
    assert "near none 0.0%" in line, line


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX links and modes")
def test_cli_save_through_a_link_keeps_the_link_and_the_mode(tmp_path, capsys):
    real = tmp_path / "real" / "r.npz"
    code, _, err = run("single_run", ["--start", "5", "--save", str(real)], tmp_path / "a", capsys)
    assert code == 0, err
    os.chmod(real, 0o600)
    link = tmp_path / "link.npz"
    link.symlink_to(real)
    code, _, err = run("single_run", ["--start", "1", "--save", str(link)], tmp_path / "b", capsys)
    assert code == 0, err
    assert link.is_symlink() and (real.stat().st_mode & 0o777) == 0o600
    assert jaxgd.load(real).starts.tolist() == [1.0]


@pytest.mark.parametrize("value", [".", ".."])
def test_save_to_dot_or_dot_dot_writes_into_that_folder(value, tmp_path, capsys, monkeypatch):
    # Existing folders, named without a slash: written into, as any existing folder is.
    (tmp_path / "here").mkdir()
    monkeypatch.chdir(tmp_path / "here")
    code, out, err = run("single_run", ["--save", value, "--epochs", "10"], tmp_path, capsys)
    assert code == 0, err
    folder = tmp_path / "here" if value == "." else tmp_path
    assert f"wrote {Path(value) / 'single_run.npz'}" in out
    assert jaxgd.load(folder / "single_run.npz").final.shape == (1, 1, 1)


def test_save_to_an_empty_name_is_refused(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = run("single_run", ["--save", ""], tmp_path / "figs", capsys)
    assert code == 2 and "--save '': give a file name" in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_all_save_accepts_a_folder_with_a_slash_and_refuses_an_empty_name(
    tmp_path, capsys, monkeypatch
):
    assert listing.main(["all", "--save", "", "--out", str(tmp_path)]) == 2
    assert capsys.readouterr().err.count("error:") == 1
    only(monkeypatch, "single_run", "lr_epochs")
    folder = tmp_path / "res.npz"
    argv = ["all", "--save", f"{folder}/", "--out", str(tmp_path / "f")]
    argv += ["--epochs", "10", "20", "2", "--learning-rates", "0.01", "0.1", "2"]
    assert listing.main(argv) == 0
    capsys.readouterr()
    assert sorted(p.name for p in folder.iterdir()) == ["lr_epochs.npz", "single_run.npz"]


def test_a_single_epoch_count_after_rounding_is_refused(tmp_path, capsys):
    code, _, err = run("lr_epochs", ["--epochs", "1", "1.4", "5"], tmp_path, capsys)
    assert code == 2 and "rounds to one whole epoch count, 1" in err


def test_only_the_domains_own_ends_count_as_lower_ends(tmp_path, capsys):
    # Runs still far out after 30 epochs: their search windows' ends are not the domain's.
    code, out, err = run(
        "start_location", ["--function", f"{USER}:cubic", "--epochs", "30"], tmp_path, capsys
    )
    assert code == 0, err
    ends = re.findall(r"f is lower at the end x = (\S+) ", out)
    assert ends in ([], [cli.num(-2 * np.pi)]), ends


def test_a_function2d_objects_start_is_used(tmp_path, capsys):
    argv = ["--function", "tests.test_cli_review:WELLS", "--grid", "5"]
    code, out, err = run("surface", argv, tmp_path, capsys)
    assert code == 0, err
    assert "start (f's start attribute): (0.5, 0.2) -> " in out


# -- --seed: every digit and every bit counts --------------------------------------------------
def test_whole_reads_digits_exactly():
    from jaxgd._cli_flags import MAX_SEED, UsageError, whole

    assert whole("--seed", str(MAX_SEED), maximum=MAX_SEED) == MAX_SEED
    assert whole("--seed", "9007199254740993") == 2**53 + 1  # a float would say 2**53
    assert whole("--repeats", "1e2") == 100
    with pytest.raises(UsageError, match=r"<= 9223372036854775807"):
        whole("--seed", str(MAX_SEED + 1), maximum=MAX_SEED)


@pytest.mark.parametrize("pair", [(0, 2**32), (1, 2**32 + 1), (2**53, 2**53 + 1)])
def test_seeds_that_share_low_bits_give_different_keys(pair):
    import jax

    from jaxgd._cli_flags import seed_key

    a, b = (np.asarray(jax.random.key_data(seed_key(s))) for s in pair)
    assert (a != b).any()
    with jax.enable_x64(True):  # the same key x64 gives for that seed
        np.testing.assert_array_equal(b, jax.random.key_data(jax.random.key(pair[1])))


def test_a_seed_past_32_bits_starts_elsewhere(tmp_path, capsys):
    starts = []
    for seed in ("0", str(2**32)):
        code, out, _ = run("single_run", ["--seed", seed], tmp_path / seed, capsys)
        assert code == 0
        starts.append(re.search(r"descent from x0 = (\S+)", out).group(1))
    assert starts[0] != starts[1]


@pytest.mark.parametrize("name", ["learning_rate", "surface", "function_family"])
@pytest.mark.parametrize(
    ("attr", "said"),
    [("domain_raises", "domain property explodes"), ("getattr_raises", "no domain here")],
)
def test_a_users_attribute_that_raises_is_one_error_line(name, attr, said, tmp_path, capsys):
    code, _, err = run(name, ["--function", f"{USER}:{attr}"], tmp_path, capsys)
    assert code == 2
    assert err == (
        f"error: --function '{USER}:{attr}': reading its domain attribute failed: "
        f"RuntimeError: {said}\n"
    )


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (
            ["--epochs", "1e9"],
            r"^error: --epochs: the figure's 26 paths keep every step, 2\.6e\+10",
        ),
        (["--epochs", "1e10"], r"^error: --epochs: expected a whole number <= 1000000000"),
        (["--paths", "1e5"], r"^error: --paths: expected a whole number <= 100, got '1e5'"),
    ],
)
def test_surface_refuses_paths_too_long_before_allocating_them(argv, said, tmp_path, capsys):
    code, _, err = run("surface", argv, tmp_path, capsys)
    assert code == 2 and re.match(said, err), err


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["--vmin", "1e308"], r"^error: --vmin: a colour limit must be at most 1e\+300 in size"),
        (["--vmax", "-1e301"], r"^error: --vmax: a colour limit must be at most 1e\+300 in size"),
        (["--vmin", ""], r"^error: --vmin: expected a number, got ''"),
    ],
)
def test_colour_limits_that_cannot_be_drawn_are_refused(argv, said, tmp_path, capsys):
    code, _, err = run("lr_epochs", argv, tmp_path, capsys)
    assert code == 2 and re.match(said, err), err


@pytest.mark.parametrize("name", ["surface", "basin_map"])
def test_no_minimum_found_says_the_search_needs_a_smooth_f(name, tmp_path, capsys):
    argv = ["--function", f"{USER}:kink_2d", "--grid", "6", "--epochs", "20"]
    code, out, _ = run(name, argv, tmp_path, capsys)
    assert code == 0
    assert "twice differentiable, not kinks like |x| + |y|" in out
    if name == "basin_map":  # what it advises instead (listing it as f.minima is refused)
        assert "for a kink, give a smooth stand-in (sqrt(x^2 + 1e-6) for |x|)" in out
        assert "f.minima" not in out


@pytest.mark.parametrize("name", ["surface", "basin_map"])
def test_no_minimum_found_for_a_straight_valley_says_so(name, tmp_path, capsys):
    # x^2 is smooth: the kink alone would not explain why its minima were not found.
    argv = ["--function", f"{USER}:valley_2d", "--grid", "6", "--epochs", "20"]
    code, out, _ = run(name, argv, tmp_path, capsys)
    assert code == 0
    assert "nor minima that fill a straight line, like those of x^2" in out
    # basin_map advised listing such minima as f.minima: a line is no list of points.
    assert "f.minima" not in out
    if name == "basin_map":
        assert "runs that end on it count as near no minimum" in out


def test_basin_maps_advice_for_a_kink_is_true(tmp_path, capsys):
    # Listing the kink's minimum, as the summary advised, is refused: f' is not 0 there.
    code, _, err = run("basin_map", ["--function", f"{USER}:kink_2d_listed"], tmp_path, capsys)
    assert code == 2 and "which is not a minimum of f" in err
    argv = ["--function", f"{USER}:smooth_kink_2d", "--grid", "6", "--epochs", "20"]
    code, out, _ = run("basin_map", argv, tmp_path, capsys)
    assert code == 0 and "1 local minimum (found by multi-start Newton): (0, 0) global" in out


@pytest.mark.parametrize("value", ["", "  "])
def test_an_empty_out_is_refused_not_taken_as_the_current_folder(value, tmp_path, capsys):
    module = __import__("experiments.single_run", fromlist=["main"])
    code = module.main(["--out", value])
    err = capsys.readouterr().err
    assert code == 2 and "argument --out: empty; give a folder" in err


def test_a_start_where_f_is_nan_is_not_called_stationary(tmp_path, capsys):
    code, out, err = run(
        "single_run", ["--function", f"{USER}:nan_right", "--start", "5"], tmp_path, capsys
    )
    assert code == 0
    assert "stationary" not in out + err


@pytest.mark.thorough
@pytest.mark.parametrize("name", ["start_location", "convergence"])
def test_runs_on_a_flat_minimum_narrower_than_the_grid_are_on_it(name, tmp_path, capsys):
    # On (-1e6, 1e6) the grid is 200 apart and the flat minimum [-1, 1] of flat_bottom was
    # found as the point 0: the runs that stopped 0.018 outside it, within --tol of where f
    # is lowest, were counted at "no minimum" (and convergence called them converged).
    argv = ["--function", f"{USER}:flat_bottom", "--domain", "-1e6", "1e6", "--tol", "1"]
    code, out, err = run(name, [*argv, "--starts", "-2", "2", "7"], tmp_path, capsys)
    assert code == 0, err
    assert "local minima of f on [-1e+06, 1e+06]: x in [-1, 1] (f = 0, global)" in out
    assert "no minimum" not in out.replace("no minimum: 0;", "")


@pytest.mark.parametrize(
    ("attr", "takers"),
    [
        ("square", ["lr_epochs", "function_family"]),  # f(x); function_family: nothing to run
        ("bowl_2d_started", ["surface"]),  # f(p) of a point of R^2
        ("slope_family", ["function_family"]),  # f(x, theta)
        ("summed", ["lr_epochs", "function_family", "surface"]),  # a scalar x or a point alike
        ("vector", ["lr_epochs", "function_family", "surface"]),  # none: each says why not
    ],
)
def test_all_gives_a_function_of_your_own_to_the_experiments_of_its_kind(attr, takers):
    # Every module:attr went to every module: `all --function mymodule:f` was always refused.
    names = ["lr_epochs", "function_family", "surface"]
    argv, notes = listing._plan(names, ["--function", f"{USER}:{attr}"])
    assert [n for n in names if argv[n]] == takers
    for n in names:
        assert argv[n] == (["--function", f"{USER}:{attr}"] if n in takers else [])
    ignored = [n for n in names if n not in takers]
    if ignored:
        (note,) = notes
        assert note.startswith(f"--function goes to {', '.join(takers)}; ignored by ")
        kinds = {"lr_epochs": "functions of one variable", "surface": "functions on R^2"}
        for n in ignored:
            assert f"{n} (takes {kinds.get(n, 'a family f(x, theta)')})" in note
    else:
        assert notes == []


def test_all_runs_a_function_of_your_own_where_it_fits(tmp_path, capsys, monkeypatch):
    only(monkeypatch, "lr_epochs", "surface")
    argv = ["all", "--function", f"{USER}:square", "--out", str(tmp_path), "--grid", "3",
            "--learning-rates", "0.01", "0.1", "3", "--epochs", "10", "50", "3"]  # fmt: skip
    code = listing.main(argv)
    out = capsys.readouterr().out
    assert code == 0
    assert "f: tests.fixtures_userfunc:square" in out.split("== surface ==")[0]
    assert "f: peaks" in out.split("== surface ==")[1]  # surface's own default
    assert re.search(r"lr_epochs\s+ok", out) and re.search(r"surface\s+ok", out)


def test_a_minimum_near_0_on_a_wide_domain_keeps_its_place():
    # The snap to 0 reaches 4 float32 epsilons of the domain's size: 5e18 on [-1e25, 1e25].
    # A minimum at 0.3 there was printed as "x = 0 (f = 0.09)", a point f is higher at.
    from jaxgd.minima import Minima

    def f(x):
        return (x - 0.3) ** 2

    domain = (-1e25, 1e25)
    found = Minima(
        x=np.array([0.3, -3.7e-34], np.float32),
        value=np.array([0.0, 0.09], np.float32),
        at_boundary=np.zeros(2, bool),
        global_index=np.array(0),
    )
    m = cli.snap_minima(f, found, domain)
    assert m.x.tolist() == [np.float32(0.3), 0.0]  # rounding of 0 is still 0
    np.testing.assert_allclose(m.value, [0.0, 0.09], rtol=1e-6)


def test_a_summary_on_a_domain_where_f_overflows_names_its_minimum(tmp_path, capsys):
    # (x - 0.3)**2 on [-1e25, 1e25] overflows float32 at every grid point but 0: no minimum
    # was found, and once found it was printed at 0.
    argv = ["--function", f"{USER}:wide_bowl", "--start", "1e20", "--tol", "1e19"]
    code, out, err = run("lr_epochs", [*argv, "--epochs", "10", "500", "5"], tmp_path, capsys)
    assert code == 0, err
    assert "local minima of f on [-1e+25, 1e+25]: x = 0.3 (f = 0, global)" in out
