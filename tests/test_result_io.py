"""SweepResult.save writes atomically; jaxgd.load trusts nothing it has not checked."""

from __future__ import annotations

import dataclasses
import io
import json
import os
import re
import select
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import jaxgd
from jaxgd.result import DIMS, SweepResult

NAMES = ("final", "value", "diverged", "starts", "learning_rates", "epochs")
REPO = Path(__file__).resolve().parents[1]


def small() -> SweepResult:
    final = np.array([[[0.5, np.nan], [1.0, 2.0]], [[3.0, 4.0], [np.inf, 6.0]]], np.float32)
    value = np.array([[[1.0, 1.0], [1.0, -np.inf]], [[1.0, 1.0], [1.0, 1.0]]], np.float32)
    return SweepResult(
        final=final,
        value=value,
        diverged=~(np.isfinite(final) & np.isfinite(value)),
        starts=np.array([-1.0, 2.5], np.float32),
        learning_rates=np.array([0.0, 0.1], np.float32),
        epochs=np.array([10, 0], np.int32),
        function="tests:small",
    )


def assert_same(got: SweepResult, want: SweepResult) -> None:
    assert got.dims == want.dims and got.function == want.function
    for name in NAMES:
        a, b = np.asarray(getattr(got, name)), np.asarray(getattr(want, name))
        assert a.shape == b.shape and a.dtype == b.dtype, name
        np.testing.assert_array_equal(a, b, err_msg=name)


def named(path: Path, fragment: str) -> str:
    """A pattern for the one error of a bad file: its path, then what is wrong."""
    return re.escape(str(path)) + " is not a saved SweepResult: .*" + fragment


# -- saving --------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["numpy", "jax"])
def test_roundtrip_of_numpy_and_jax_backed_results(tmp_path, kind):
    res = small() if kind == "numpy" else jax.tree.map(jnp.asarray, small())
    longer = res.isel(epochs=[0, 1, 0])
    moved = dataclasses.replace(
        longer,
        **{k: getattr(longer, k).transpose(2, 0, 1) for k in ("final", "value", "diverged")},
        dims=("epochs", "start", "learning_rate"),
    )
    subs = (res, res.isel(start=0), res.isel(start=1, epochs=0, learning_rate=-1), moved)
    for i, sub in enumerate(subs):
        back = jaxgd.load(sub.save(tmp_path / f"{kind}-{i}"))
        assert isinstance(back.final, np.ndarray)
        assert_same(back, sub.to_numpy())


def test_a_failed_save_keeps_the_old_file_and_leaves_no_temp(tmp_path, monkeypatch):
    path = small().save(tmp_path / "run.npz")
    before = path.read_bytes()

    def interrupted(file, *args, **kwargs):
        with open(file, "wb") if isinstance(file, (str, os.PathLike)) else file as fh:
            fh.write(b"PK\x03\x04 half an archive")
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez_compressed", interrupted)
    with pytest.raises(KeyboardInterrupt):
        small().isel(start=0).save(path)
    assert path.read_bytes() == before
    assert list(tmp_path.iterdir()) == [path]


def test_a_save_that_fails_on_the_disk_keeps_the_old_file(tmp_path, monkeypatch):
    path = small().save(tmp_path / "run.npz")
    before = path.read_bytes()

    def fsync(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", fsync)
    with pytest.raises(OSError, match="No space left"):
        small().isel(start=0).save(path)
    assert path.read_bytes() == before
    assert list(tmp_path.iterdir()) == [path]


CHILD = r"""
import sys
import numpy as np
from jaxgd.result import SweepResult

shape = (200, 100, 250)  # 5e6 cells: 45 MB of data that compress slowly
final = np.random.default_rng(0).standard_normal(shape, dtype=np.float32)
res = SweepResult(
    final, final.copy(), np.zeros(shape, bool), np.arange(200, dtype=np.float32),
    np.linspace(0, 1, 100, dtype=np.float32), np.arange(250, dtype=np.int32),
)
print("saving", flush=True)
res.save(sys.argv[1])
print("saved", flush=True)
"""


def _files(folder: Path) -> dict[Path, tuple[int, int]]:
    out = {}
    for p in folder.iterdir():
        try:
            st_ = p.stat()
        except FileNotFoundError:  # a temp file renamed away between listing and stat
            continue
        out[p] = (st_.st_size, st_.st_mtime_ns)
    return out


@pytest.mark.slow
def test_sigkill_during_save_leaves_the_old_file_whole(tmp_path):
    old = small()
    path = old.save(tmp_path / "run.npz")
    before = path.read_bytes()
    start = _files(tmp_path)
    env = {**os.environ, "PYTHONPATH": str(REPO), "JAX_PLATFORMS": "cpu"}
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path)], stdout=subprocess.PIPE, env=env, cwd=REPO
    )
    try:
        ready, _, _ = select.select([proc.stdout], [], [], 300)
        assert ready and proc.stdout.readline() == b"saving\n"
        deadline = time.monotonic() + 300
        # Kill as soon as the save has written anything, anywhere in the folder.
        while time.monotonic() < deadline and proc.poll() is None:
            now = _files(tmp_path)
            if any(now.get(p) != start.get(p) and now[p][0] > 0 for p in now):
                break
            time.sleep(0.002)
        proc.send_signal(signal.SIGKILL)
        proc.wait(60)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL, "the save finished before it could be killed"
    assert path.read_bytes() == before
    assert_same(jaxgd.load(path), old)
    assert sorted(tmp_path.glob("*.npz")) == [path]  # a leftover is not taken for a result
    for leftover in set(tmp_path.iterdir()) - {path}:
        assert leftover.name.startswith(".") and leftover.suffix == ".tmp"
        with pytest.raises(ValueError, match="is not a saved SweepResult"):
            jaxgd.load(leftover)
        _age(leftover)
    # The next save to that path removes what the killed one left (it held a lock on it).
    old.save(path)
    assert sorted(tmp_path.iterdir()) == [path]


# A writer that dies outright holding its temporary file (SIGKILL: no handler, no cleanup).
WRITER = """
import os, signal, sys, time
from pathlib import Path
from jaxgd import _npz
fd, tmp = _npz.create_temp(Path(sys.argv[1]))
os.write(fd, b"half an archive")
print(tmp.name, flush=True)
if sys.argv[2] == "die":
    os.kill(os.getpid(), signal.SIGKILL)
time.sleep(600)
"""


def _writer(path: Path, how: str) -> tuple[subprocess.Popen, Path]:
    """A process that created a temporary file for ``path`` (and died, or waits); its name."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path), how], stdout=subprocess.PIPE, env=env
    )
    ready, _, _ = select.select([proc.stdout], [], [], 120)
    assert ready, "the writer never started"
    name = proc.stdout.readline().decode().strip()
    proc.stdout.close()
    if how == "die":
        proc.wait(60)
        assert proc.returncode == -signal.SIGKILL
    return proc, path.with_name(name)


def _age(path: Path, seconds: float = 3600) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then), follow_symlinks=False)


@pytest.mark.skipif(os.name != "posix", reason="temporary files are locked on POSIX only")
def test_a_save_removes_what_a_save_killed_outright_left(tmp_path):
    from jaxgd import _npz

    path = tmp_path / "run.npz"
    _, left = _writer(path, "die")
    assert left.exists() and left.name.startswith(".run.npz.") and left.suffix == ".tmp"
    # Fresh, it may be a writer's that has not locked it yet: kept.
    small().save(path)
    assert left.exists()
    # Not ours, whatever their age: another target's, other names, a symlink, a folder.
    others = [
        tmp_path / ".other.npz.0123abcd.tmp",
        tmp_path / ".run.npz.0123ABCD.tmp",
        tmp_path / ".run.npz.0123abcd.tmp.keep",
        tmp_path / ".run.npz.123abcd.tmp",
        tmp_path / "run.npz.0123abcd.tmp",
    ]
    for other in others:
        other.write_bytes(b"keep")
    outside = tmp_path / "outside.npz"
    outside.write_bytes(b"keep")
    link = tmp_path / ".run.npz.feedbeef.tmp"
    link.symlink_to(outside)
    folder = tmp_path / ".run.npz.0badf00d.tmp"
    folder.mkdir()
    for p in [left, *others, link, folder]:
        _age(p)
    assert _npz.STALE_AFTER <= 60
    saved = small().save(path)
    assert not left.exists()
    assert_same(jaxgd.load(saved), small())
    assert all(other.read_bytes() == b"keep" for other in others)
    assert link.is_symlink() and outside.read_bytes() == b"keep" and folder.is_dir()
    # Every way of writing in place cleans up after itself: the figures' and the cache's.
    _, left = _writer(path, "die")
    _age(left)
    with _npz.replacing(path) as tmp:
        tmp.write_bytes(b"whole")
    assert not left.exists() and path.read_bytes() == b"whole"


@pytest.mark.skipif(os.name != "posix", reason="temporary files are locked on POSIX only")
def test_a_save_leaves_the_temporary_file_of_a_save_still_running(tmp_path):
    path = tmp_path / "run.npz"
    proc, busy = _writer(path, "wait")
    try:
        _age(busy)  # however old: its writer holds it
        small().save(path)
        assert busy.read_bytes() == b"half an archive"
    finally:
        proc.kill()
        proc.wait(60)
    _age(busy)
    small().save(path)
    assert not busy.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.npz"]


def test_without_locks_a_save_leaves_other_temporary_files_alone(tmp_path, monkeypatch):
    """As on Windows: no lock says whose a temporary file is, so none is removed."""
    from jaxgd import _npz

    monkeypatch.setattr(_npz, "fcntl", None)
    path = tmp_path / "run.npz"
    left = tmp_path / ".run.npz.0123abcd.tmp"
    left.write_bytes(b"half")
    _age(left)
    small().save(path)
    with _npz.replacing(tmp_path / "fig.png") as tmp:
        tmp.write_bytes(b"png")
    assert left.read_bytes() == b"half"
    assert_same(jaxgd.load(path), small())
    assert (tmp_path / "fig.png").read_bytes() == b"png"
    assert sorted(p.name for p in tmp_path.iterdir()) == [left.name, "fig.png", "run.npz"]


def test_saved_file_has_the_usual_permissions(tmp_path):
    umask = os.umask(0)
    os.umask(umask)
    path = small().save(tmp_path / "run")
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask


@pytest.mark.parametrize("name", ["out", "out.npz"])
def test_save_to_an_existing_directory_says_so(tmp_path, name):
    (tmp_path / name).mkdir()
    with pytest.raises(IsADirectoryError, match=re.escape(str(tmp_path / name)) + ".*directory"):
        small().save(tmp_path / name)
    assert [p.name for p in tmp_path.iterdir()] == [name]


@pytest.mark.parametrize(
    ("name", "written"),
    [
        ("run.NPZ", "run.NPZ"),
        ("run.Npz", "run.Npz"),
        ("run", "run.npz"),
        ("run.npz.bak", "run.npz.bak.npz"),
    ],
)
def test_save_keeps_an_npz_suffix_in_any_case(tmp_path, name, written):
    # np.savez's rule (a case-sensitive ".npz") wrote run.NPZ.npz for run.NPZ.
    path = small().save(tmp_path / name)
    assert path == tmp_path / written
    assert [p.name for p in tmp_path.iterdir()] == [written]
    np.testing.assert_array_equal(jaxgd.load(path).final, small().final)


@pytest.mark.parametrize("name", [".npz", ".NPZ"])
def test_save_to_only_the_extension_is_refused(tmp_path, name):
    with pytest.raises(ValueError, match=re.escape(f"{name!r} is only the extension")):
        small().save(tmp_path / name)
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("name", ["runs/", "a/b/", "x/.."])
def test_save_to_a_path_naming_a_folder_is_refused(tmp_path, name, monkeypatch):
    # Path() dropped the trailing separator (runs/ wrote runs.npz) and kept '..' as a file
    # name (x/.. wrote x/...npz, creating x).
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match=re.escape(f"cannot save to {name!r}: it names a folder")):
        small().save(name)
    assert not list(tmp_path.iterdir())


def test_save_under_a_file_names_the_folder(tmp_path):
    (tmp_path / "plain").write_text("not a folder")
    folder = tmp_path / "plain" / "sub"
    with pytest.raises(OSError, match=re.escape(f"its folder {folder} cannot be created")):
        small().save(folder / "run.npz")


def test_save_into_an_unwritable_folder_names_it(tmp_path, monkeypatch):
    real_open = os.open

    def no_write(path, flags, *args):
        if str(path).endswith(".tmp"):
            raise PermissionError(13, "Permission denied")
        return real_open(path, flags, *args)

    monkeypatch.setattr(os, "open", no_write)
    with pytest.raises(PermissionError, match=re.escape(f"cannot write in its folder {tmp_path}")):
        small().save(tmp_path / "run.npz")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_save_into_a_read_only_folder_names_it(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir(mode=0o500)
    with pytest.raises(PermissionError, match=re.escape(str(folder))):
        small().save(folder / "run.npz")


def test_save_refuses_what_load_would_refuse(tmp_path):
    res = small()
    wrong = SweepResult(**{**vars(res), "diverged": ~res.diverged})
    with pytest.raises(ValueError, match=r"cannot save .*diverged disagrees"):
        wrong.save(tmp_path / "a")
    with pytest.raises(ValueError, match="final is NoneType, not an array"):
        jax.tree.map(lambda a: None, res).save(tmp_path / "b")
    with pytest.raises(TypeError, match=r"is traced.*save it outside"):
        jax.jit(lambda r: r.save(tmp_path / "c") and r)(res)
    assert not list(tmp_path.iterdir())


# -- loading -------------------------------------------------------------------------------
def test_missing_file_is_file_not_found_naming_it(tmp_path):
    with pytest.raises(FileNotFoundError, match=re.escape(str(tmp_path / "nope.npz"))):
        jaxgd.load(tmp_path / "nope.npz")
    small().save(tmp_path / "run")
    with pytest.raises(FileNotFoundError, match=r"did you mean run\.npz"):
        jaxgd.load(tmp_path / "run")
    # A folder named like a result is no file to point to.
    (tmp_path / "runs.npz").mkdir()
    with pytest.raises(FileNotFoundError, match=r"does not exist\.$"):
        jaxgd.load(tmp_path / "runs")


def test_npy_text_and_directory_are_one_clear_error(tmp_path):
    np.save(tmp_path / "a.npy", np.zeros(3))
    (tmp_path / "b.txt").write_text("final, value\n1, 2\n")
    (tmp_path / "c.npz").mkdir()
    for path, fragment in [
        (tmp_path / "a.npy", r"single NumPy array \(\.npy\)"),
        (tmp_path / "b.txt", "not an .npz archive"),
        (tmp_path / "c.npz", "a directory"),
    ]:
        with pytest.raises(ValueError, match=named(path, fragment)) as info:
            jaxgd.load(path)
        assert "allow_pickle" not in str(info.value)


def members(res: SweepResult | None = None, **meta_changes) -> dict[str, object]:
    """The entries :meth:`SweepResult.save` writes, as a dict to tamper with."""
    res = small() if res is None else res
    meta = {"format": "jaxgd.SweepResult/1", "dims": list(res.dims), "function": res.function}
    meta.update({"dtype": "float32", "jax_version": jax.__version__})
    meta.update(meta_changes)
    return {**res.as_dict(), "metadata": np.asarray(json.dumps(meta))}


def write(path: Path, entries: dict[str, object]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, arr in entries.items():
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.asanyarray(arr), allow_pickle=True)
            zf.writestr(f"{name}.npy", buf.getvalue())
    return path


def _nan_start():
    starts = small().starts.copy()
    starts[0] = np.nan
    return starts


BAD_FILES = {
    "metadata is a list": ({"metadata": np.asarray("[1, 2]")}, "metadata is a JSON list"),
    "metadata not json": ({"metadata": np.asarray("{dims")}, "metadata is not JSON"),
    "metadata not text": ({"metadata": np.zeros(2)}, "metadata has dtype float64"),
    "no dims": (
        {"metadata": np.asarray('{"format": "jaxgd.SweepResult/1", "function": ""}')},
        "no 'dims' entry",
    ),
    "format tag": (members(format="other/2"), "format tag is 'other/2'.*which SweepResult.save"),
    "format tag not text": (members(format=2), "format tag is 2;"),
    "format tag newer": (
        members(format="jaxgd.SweepResult/10"),
        r"'jaxgd.SweepResult/10'.*A newer jaxgd wrote it: upgrade jaxgd \(pip install -U",
    ),
    "dims a string": (members(dims="start"), "metadata 'dims' is a str"),
    "dims too short": (members(dims=["start", "learning_rate"]), "epochs must be a scalar"),
    "dims unknown": (members(dims=["start", "rate", "epochs"]), "unknown axis name 'rate'"),
    "dims repeat": (members(dims=["start", "start", "epochs"]), "repeat"),
    "dims not names": (members(dims=["start", 1, "epochs"]), "must list axis names"),
    "function not str": (members(function=3), "metadata 'function' is an int, expected a str"),
    "dtype disagrees": (members(dtype="float64"), "metadata says dtype 'float64'"),
    "final shape": ({"final": np.zeros((2, 2, 3), np.float32)}, r"final has shape \(2, 2, 3\)"),
    "final strings": ({"final": np.array([[["a"] * 2] * 2] * 2)}, "final has dtype <U1"),
    "final ints": ({"final": np.zeros((2, 2, 2), np.int32)}, "final has dtype int32"),
    "value float64": ({"value": np.ones((2, 2, 2))}, "value is float64 but final is float32"),
    "diverged ints": ({"diverged": np.zeros((2, 2, 2), np.int8)}, "diverged has dtype int8"),
    "diverged misses": ({"diverged": np.zeros((2, 2, 2), bool)}, "diverged disagrees .* 2 of 8"),
    "diverged extra": ({"diverged": np.ones((2, 2, 2), bool)}, "diverged disagrees .* 5 of 8"),
    "epochs float": ({"epochs": np.array([10.0, 0.0])}, "epochs has dtype float64"),
    "epochs negative": ({"epochs": np.array([10, -1])}, "epochs holds negative"),
    "rates negative": ({"learning_rates": np.array([-0.1, 0.1], np.float32)}, "negative"),
    "start nan": ({"starts": _nan_start()}, "starts holds non-finite"),
    "coordinate 2-D": ({"starts": np.zeros((2, 1), np.float32)}, "at most 1-D"),
    "coordinate length": ({"epochs": np.array([1, 2, 3])}, r"final has shape \(2, 2, 2\), but"),
    "entry missing": ({"value": None}, r"lacks \['value.npy'\]"),
    "entry extra": ({"extra": np.zeros(1)}, r"unexpected entries \['extra.npy'\]"),
    "entry renamed": (
        {"value": None, "valu\x01": np.ones((2, 2, 2), np.float32)},
        r"lacks \['value.npy'\] and holds unexpected entries \['valu\\x01.npy'\] in their place: "
        "the archive is damaged",
    ),
    "unrelated npz": ("other", "none of a saved SweepResult's arrays"),
}


@pytest.mark.parametrize(("change", "fragment"), BAD_FILES.values(), ids=BAD_FILES.keys())
def test_load_refuses_each_inconsistency_with_one_clear_error(tmp_path, change, fragment):
    if change == "other":
        entries = {"a": np.zeros(3)}
    else:
        entries = {k: v for k, v in {**members(), **change}.items() if v is not None}
    path = write(tmp_path / "bad.npz", entries)
    with pytest.raises(ValueError, match=named(path, fragment)):
        jaxgd.load(path)


@pytest.mark.parametrize("value_counts", [True, False], ids=["position or value", "position"])
def test_a_file_of_either_divergence_rule_loads_with_todays(tmp_path, value_counts):
    # Earlier files flagged a non-finite position only; both load, under today's rule.
    res = small()
    diverged = ~np.isfinite(res.final) | (~np.isfinite(res.value) & value_counts)
    entries = members(dataclasses.replace(res, diverged=diverged))
    back = jaxgd.load(write(tmp_path / "rule.npz", entries))
    np.testing.assert_array_equal(back.diverged, ~np.isfinite(res.final) | ~np.isfinite(res.value))
    assert int(back.diverged.sum()) == 3


def test_save_refuses_a_non_finite_value_not_flagged(tmp_path):
    res = small()
    assert (np.isfinite(res.final) & ~np.isfinite(res.value)).any()
    stale = dataclasses.replace(res, diverged=~np.isfinite(res.final))
    with pytest.raises(ValueError, match="diverged disagrees"):
        stale.save(tmp_path / "stale.npz")


def test_load_never_unpickles(tmp_path):
    marker = tmp_path / "ran"

    class Payload:
        def __reduce__(self):
            return (Path.write_text, (marker, "pickle code ran"))

    bomb = np.empty((2, 2, 2), object)
    bomb[0, 0, 0] = Payload()
    path = write(tmp_path / "bomb.npz", {**members(), "final": bomb})
    with pytest.raises(ValueError, match=named(path, "final has dtype object")):
        jaxgd.load(path)
    assert not marker.exists()


def test_duplicate_entries_are_refused(tmp_path):
    path = write(tmp_path / "twice.npz", members())
    with pytest.warns(UserWarning, match="Duplicate name"), zipfile.ZipFile(path, "a") as zf:
        zf.writestr("final.npy", npy_bytes(np.zeros((2, 2, 2), np.float32)))
    with pytest.raises(ValueError, match=named(path, "holds 'final.npy' twice")):
        jaxgd.load(path)


def test_classmethod_load_is_the_same_check(tmp_path):
    path = write(tmp_path / "bad.npz", {**members(), "metadata": np.asarray("[]")})
    with pytest.raises(ValueError, match=named(path, "JSON list")):
        SweepResult.load(path)


# -- 7b. property test: damaged files --------------------------------------------------------
ORIGINAL = small()
with tempfile.TemporaryDirectory() as _folder:
    GOOD = ORIGINAL.save(Path(_folder) / "good.npz").read_bytes()


def outcome_of(blob: bytes, check_equal: bool = True) -> SweepResult | None:
    """Load ``blob`` from a file: the original back, or the one ValueError naming the file."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "damaged.npz"
        path.write_bytes(blob)
        try:
            back = jaxgd.load(path)
        except ValueError as e:
            assert str(e).startswith(f"{path} is not a saved SweepResult: "), str(e)
            return None
    if check_equal:
        assert_same(back, ORIGINAL)
    return back


@settings(max_examples=100, deadline=None)
@given(st.integers(0, len(GOOD) - 1))
def test_truncated_file(length):
    assert outcome_of(GOOD[:length]) is None


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, len(GOOD) - 1), st.integers(1, 255)), min_size=1, max_size=3)
)
def test_flipped_bytes(flips):
    blob = bytearray(GOOD)
    for at, mask in flips:
        blob[at] ^= mask
    outcome_of(bytes(blob))


def npy_bytes(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, arr, allow_pickle=True)
    return buf.getvalue()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
metadata = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {
            "format": st.sampled_from(["jaxgd.SweepResult/1", "x"]),
            "dims": st.lists(st.sampled_from([*DIMS, "rate", 3]), max_size=4) | json_values,
            "function": st.text(max_size=4) | json_values,
        },
        optional={"dtype": st.sampled_from(["float32", "float64", 1])},
    ),
).map(lambda m: np.asarray(json.dumps(m)))
arrays = st.one_of(
    st.builds(
        lambda dtype, shape, seed: (
            np.random.default_rng(seed).integers(-2, 3, size=shape).astype(dtype)
        ),
        st.sampled_from(["f4", "f8", ">f4", "f2", "i4", "u1", "?", "c8"]),
        st.lists(st.integers(0, 3), max_size=3).map(tuple),
        st.integers(0, 99),
    ),
    st.lists(st.text(max_size=3), max_size=3).map(np.array),
    st.just(np.array([None, 1], object)),
)
contents = st.one_of(metadata.map(npy_bytes), arrays.map(npy_bytes), st.binary(max_size=64))
ENTRY_NAMES = [*NAMES, "metadata"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.dictionaries(
        st.sampled_from([*ENTRY_NAMES, "other"]).map(lambda n: f"{n}.npy")
        | st.text("abxyz.", min_size=1, max_size=6),
        contents,
        max_size=4,
    ),
    st.lists(st.sampled_from(ENTRY_NAMES), unique=True),
    st.booleans(),
)
def test_valid_zips_with_wrong_contents(replace, drop, compress):
    with zipfile.ZipFile(io.BytesIO(GOOD)) as zf:
        entries = {name: zf.read(name) for name in zf.namelist()}
    entries = {k: v for k, v in entries.items() if k[: -len(".npy")] not in drop}
    entries.update(replace)
    buf = io.BytesIO()
    method = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with zipfile.ZipFile(buf, "w", method) as zf:
        for name, blob in entries.items():
            zf.writestr(name, blob)
    back = outcome_of(buf.getvalue(), check_equal=False)
    if back is not None:
        # Whatever was accepted is a result that could have been saved.
        with tempfile.TemporaryDirectory() as folder:
            assert_same(jaxgd.load(back.save(Path(folder) / "again")), back)


@pytest.mark.parametrize("path", ["", "   ", "/"])
def test_save_to_a_path_without_a_file_name_says_so(path):
    res = jaxgd.sweep(lambda x: x**2, [1.0], 0.1, 3)
    with pytest.raises((ValueError, IsADirectoryError), match="cannot save"):
        res.save(path)


@pytest.mark.parametrize("path", ["", "   "])
def test_load_of_an_empty_path_says_the_path_is_empty(path):
    # Path('') is '.', the current folder: the error named '.' and called it a directory.
    with pytest.raises(ValueError, match=r"^cannot load: the path is empty\. Pass the file"):
        jaxgd.load(path)


# -- files of every kind the saver writes, and forged sizes -----------------------------------
def test_a_big_endian_result_saves_and_loads(tmp_path):
    res = small()
    swapped = dataclasses.replace(
        res,
        final=res.final.astype(">f4"),
        value=res.value.astype(">f4"),
        starts=res.starts.astype(">f4"),
    )
    back = jaxgd.load(swapped.save(tmp_path / "be"))
    assert_same(back, res)


def test_final_and_value_of_one_type_in_two_byte_orders_save(tmp_path):
    # One float type, stored two ways: nothing for save to refuse, and load gives it native.
    res = small()
    for final, value in [
        (res.final.astype(">f4"), res.value),
        (res.final, res.value.astype(">f4")),
    ]:
        mixed = dataclasses.replace(res, final=final, value=value)
        assert_same(jaxgd.load(mixed.save(tmp_path / "mixed")), res)


def test_metadata_nested_too_deep_is_a_damaged_file(tmp_path):
    path = small().save(tmp_path / "run.npz")
    with zipfile.ZipFile(path) as z:
        members = {n: z.read(n) for n in z.namelist()}
    deep = "[" * 100_000 + "]" * 100_000
    buf = io.BytesIO()
    np.save(buf, np.asarray(deep))
    members["metadata.npy"] = buf.getvalue()
    with zipfile.ZipFile(path, "w") as z:
        for n, data in members.items():
            z.writestr(n, data)
    with pytest.raises(ValueError, match=named(path, "metadata is not JSON")):
        jaxgd.load(path)


@pytest.mark.parametrize("compression", [zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA])
def test_an_archive_repacked_with_another_compression_loads(tmp_path, compression):
    # bzip2 packs 4 MB of zeros into a few hundred bytes, past deflate's bound of about 1032.
    shape = (100, 100, 100)
    zeros = np.zeros(shape, np.float32)
    res = SweepResult(
        zeros,
        zeros,
        np.zeros(shape, bool),
        np.zeros(100, np.float32),
        np.zeros(100, np.float32),
        np.arange(100),
    )
    path = res.save(tmp_path / "run.npz")
    repacked = tmp_path / "repacked.npz"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(repacked, "w", compression) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info))
    back = jaxgd.load(repacked)
    for name, want in res.as_dict().items():
        assert back.as_dict()[name].tobytes() == want.tobytes(), name
    damaged = tmp_path / "damaged.npz"  # its claims are still checked against what is read
    data = bytearray(repacked.read_bytes())
    with zipfile.ZipFile(repacked) as z:
        final = z.getinfo("final.npy")
    at = final.header_offset + 30 + len(final.filename) + final.compress_size // 2
    data[at] ^= 0xFF
    damaged.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=named(damaged, "damaged or truncated|truncated")):
        jaxgd.load(damaged)


def test_a_member_claiming_more_than_deflate_can_hold_is_refused_before_allocating(tmp_path):
    path = tmp_path / "run.npz"
    small().save(path)
    with zipfile.ZipFile(path) as z:
        members = {n: z.read(n) for n in z.namelist()}
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buf, {"descr": "<f4", "fortran_order": False, "shape": (10**9,)}
    )
    members["learning_rates.npy"] = buf.getvalue()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for n, data in members.items():
            z.writestr(n, data)
        # Forge the directory's record to match the header's promise: 4 GB from a few bytes.
        z.getinfo("learning_rates.npy").file_size = 4 * 10**9 + len(buf.getvalue())
    with pytest.raises(ValueError, match=named(path, "learning_rates claims 4000000128 bytes")):
        jaxgd.load(path)


def test_a_file_name_as_long_as_the_system_allows_saves(tmp_path):
    name = "r" * 251 + ".npz"  # 255 bytes
    path = small().save(tmp_path / name)
    assert path.name == name
    assert_same(jaxgd.load(path), small())
    assert [p.name for p in tmp_path.iterdir()] == [name]


def test_a_write_that_fails_names_the_file_and_says_what_is_left(tmp_path, monkeypatch):
    path = tmp_path / "run.npz"

    def full(*args, **kwargs):
        raise OSError(27, "File too large")

    monkeypatch.setattr(np, "savez_compressed", full)
    with pytest.raises(OSError, match=re.escape(str(path)) + r".*File too large.*nothing was"):
        small().save(path)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions and links")
def test_saving_over_a_file_keeps_its_mode_and_a_link_stays_a_link(tmp_path):
    path = small().save(tmp_path / "run.npz")
    os.chmod(path, 0o600)
    small().isel(start=0).save(path)
    assert (path.stat().st_mode & 0o777) == 0o600
    link = tmp_path / "latest.npz"
    link.symlink_to(path.name)
    small().save(link)
    assert link.is_symlink() and link.resolve() == path
    assert_same(jaxgd.load(path), small())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["latest.npz", "run.npz"]


@pytest.mark.skipif(os.name != "posix", reason="POSIX links")
@pytest.mark.parametrize("length", [1, 2], ids=["to itself", "a -> b -> a"])
def test_a_loop_of_links_is_refused_not_replaced_and_not_missing(tmp_path, length):
    # A link to itself was replaced by a plain file on save, and load said the file did
    # not exist: Path.exists is False for a loop, and realpath gives the link back.
    link = tmp_path / "loop.npz"
    if length == 1:
        link.symlink_to(link.name)
    else:
        link.symlink_to("other.npz")
        (tmp_path / "other.npz").symlink_to(link.name)
    for verb, call in [("save", lambda: small().save(link)), ("load", lambda: jaxgd.load(link))]:
        with pytest.raises(OSError, match=rf"cannot {verb} .*loop\.npz: it is a loop of symbolic "):
            call()
    assert link.is_symlink() and os.readlink(link) == ("loop.npz" if length == 1 else "other.npz")
    assert len(list(tmp_path.iterdir())) == length


@pytest.mark.skipif(os.name != "posix", reason="POSIX links")
@pytest.mark.parametrize("below", ["x.npz", "sub/x.npz"])
def test_a_path_through_a_loop_of_links_is_refused_as_one(tmp_path, below):
    # The folder a -> a: load said the file did not exist, save that the folder "cannot be
    # created (File exists)"; the system's answer is ELOOP, as for the link itself.
    (tmp_path / "a").symlink_to("a")
    path = tmp_path / "a" / below
    for verb, call in [("save", lambda: small().save(path)), ("load", lambda: jaxgd.load(path))]:
        with pytest.raises(OSError, match=rf"cannot {verb} .*x\.npz: it is a path through a loop"):
            call()
    assert os.readlink(tmp_path / "a") == "a" and len(list(tmp_path.iterdir())) == 1


def _small(n_starts: int) -> jaxgd.SweepResult:
    z = np.linspace(0, 1, n_starts * 16, dtype=np.float32).reshape(n_starts, 4, 4)
    return jaxgd.SweepResult(
        z,
        z,
        np.zeros(z.shape, bool),
        starts=np.linspace(0, 1, n_starts, dtype=np.float32),
        learning_rates=np.ones(4, np.float32),
        epochs=np.arange(4),
    )


def test_load_reads_one_file_while_a_save_replaces_it(tmp_path, monkeypatch):
    # Another process's save renames a new file onto the path while load reads it: load gets
    # the old file or the new one, whole; it once took the old one's size to bound the new
    # one's entries and refused a good file ("claims N bytes from M stored ones").
    path = _small(1).save(tmp_path / "res.npz")
    newer = _small(20000).save(tmp_path / "newer.npz")
    real = zipfile.is_zipfile

    def is_zipfile_while_another_process_saves(p):
        if newer.exists():
            os.replace(newer, path)  # as a concurrent save does
        return real(p)

    monkeypatch.setattr(zipfile, "is_zipfile", is_zipfile_while_another_process_saves)
    got = jaxgd.load(path)
    assert got.final.shape in ((1, 4, 4), (20000, 4, 4))
    np.testing.assert_array_equal(got.final, _small(got.final.shape[0]).final)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_load_refuses_a_named_pipe_instead_of_waiting_on_it(tmp_path):
    import threading

    pipe = tmp_path / "res.npz"
    os.mkfifo(pipe)
    outcome = []

    def attempt():
        try:
            jaxgd.load(pipe)
        except Exception as e:  # what it raised is what the test checks
            outcome.append(e)

    worker = threading.Thread(target=attempt, daemon=True)
    worker.start()
    worker.join(30)
    if worker.is_alive():  # unblock the open, so the thread can end
        os.close(os.open(pipe, os.O_WRONLY | os.O_NONBLOCK))
        pytest.fail("load blocked on a named pipe")
    (err,) = outcome
    assert isinstance(err, ValueError) and "not a regular file" in str(err)


def test_save_names_a_file_name_the_system_refuses(tmp_path):
    fix = r"File name too long\. Use a shorter name"
    with pytest.raises(OSError, match=r"cannot save .*m{200}.*" + fix):
        _small(1).save(tmp_path / ("m" * 300))
    with pytest.raises(OSError, match=r"cannot load .*m{200}.*" + fix):
        jaxgd.load(tmp_path / ("m" * 300))


def test_save_and_select_refuse_results_mapped_away_from_arrays(tmp_path):
    res = _small(2)
    structs = jax.tree.map(lambda a: jax.ShapeDtypeStruct(np.shape(a), a.dtype), res)
    with pytest.raises(TypeError, match="final is ShapeDtypeStruct, not an array"):
        structs.isel(start=0)
    nones = jax.tree.map(lambda a: None, res)
    with pytest.raises(ValueError, match="final is NoneType, not an array"):
        nones.save(tmp_path / "r.npz")
    assert not list(tmp_path.iterdir())


def test_save_and_load_take_bytes_paths_and_refuse_other_objects(tmp_path):
    # bytes raised pathlib's own TypeError; a NUL character a bare "embedded null byte".
    res = jaxgd.sweep(lambda x: x**2, [-1.0, 2.0], [0.1], [0, 10])
    path = res.save(os.fsencode(tmp_path / "raw"))
    assert path == tmp_path / "raw.npz"
    np.testing.assert_array_equal(jaxgd.load(os.fsencode(path)).final, res.final)
    for verb, call in (("save", res.save), ("load", jaxgd.load)):
        with pytest.raises(TypeError, match=rf"^cannot {verb}: path must be a file path.*int"):
            call(3)
        with pytest.raises(ValueError, match=rf"^cannot {verb} .*contains a NUL character"):
            call(str(tmp_path / "a\0b.npz"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["raw.npz"]


def test_save_under_a_file_says_the_file_is_not_a_folder(tmp_path):
    # Folders are made one level at a time; a file in the way is named, as mkdir -p would.
    (tmp_path / "afile").write_text("")
    res = jaxgd.sweep(lambda x: x**2, [-1.0], [0.1], [10])
    with pytest.raises(NotADirectoryError, match=r"afile/sub cannot be created \(Not a directory"):
        res.save(tmp_path / "afile" / "sub" / "r.npz")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]


def test_an_array_too_large_for_the_host_is_refused_naming_the_file(tmp_path, monkeypatch):
    # Within deflate's ratio, so the archive may really hold it: 2 GB from 2 MB of a forged
    # member (random bytes, so no smaller file could claim as much). Refused before the
    # allocation, whose own MemoryError (or a lazy allocation filled later) names no file.
    path = small().save(tmp_path / "run.npz")
    with zipfile.ZipFile(path) as z:
        members = {n: z.read(n) for n in z.namelist()}
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buf, {"descr": "<f8", "fortran_order": False, "shape": (250_000_000,)}
    )
    members["starts.npy"] = buf.getvalue() + np.random.default_rng(0).bytes(2_000_000)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for n, data in members.items():
            z.writestr(n, data)
        z.getinfo("starts.npy").file_size = 2 * 10**9 + len(buf.getvalue())
    monkeypatch.setattr("jaxgd._chunking.available_host_memory", lambda: 2**30)
    with pytest.raises(MemoryError, match=re.escape(f"loading {path}: its starts") + ".*1.9 GiB"):
        jaxgd.load(path)


def test_a_bfloat16_result_is_refused_saying_why_and_how_to_convert(tmp_path):
    res = jax.tree.map(lambda a: a.astype(jnp.bfloat16) if a.dtype.kind == "f" else a, small())
    with pytest.raises(
        ValueError, match=re.escape("final has dtype bfloat16, which an .npz file cannot")
    ):
        res.save(tmp_path / "run.npz")
    assert not list(tmp_path.iterdir())
    back = jax.tree.map(lambda a: a.astype("float32") if a.dtype == "bfloat16" else a, res)
    assert jaxgd.load(back.save(tmp_path / "run.npz")).final.dtype == np.float32


def test_load_of_a_missing_file_whose_name_fits_only_without_npz_says_it_is_missing(tmp_path):
    # The hint's look for NAME.npz asked the system about a name 4 bytes longer, which it
    # refused: OSError "File name too long" naming a file the caller never gave.
    path = tmp_path / ("r" * 253)
    with pytest.raises(FileNotFoundError, match=re.escape(f"{path}: the file does not exist.")):
        jaxgd.load(path)


def test_loading_small_arrays_does_not_ask_the_host_for_free_memory(tmp_path, monkeypatch):
    # Asking (the system's and the cgroup's counters) costs ~0.1 ms, more than reading a small
    # array: asked once per member, it doubled the time to load a result of a few kilobytes.
    path = small().save(tmp_path / "run.npz")
    asked = []
    monkeypatch.setattr("jaxgd._chunking.available_host_memory", lambda: asked.append(1))
    jaxgd.load(path)
    assert asked == []


@settings(max_examples=30, deadline=None)
@given(st.integers(4, len(GOOD) - 22))
def test_a_saved_file_cut_short_is_called_truncated_not_foreign(length):
    # Cut before its zip directory (the last 22 bytes at least), a saved file still begins
    # as a zip archive: what the reader needs to hear is that it is damaged, not foreign.
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "cut.npz"
        path.write_bytes(GOOD[:length])
        with pytest.raises(ValueError, match=named(path, "truncated")):
            jaxgd.load(path)


def test_an_empty_file_is_called_empty(tmp_path):
    path = tmp_path / "empty.npz"
    path.write_bytes(b"")
    with pytest.raises(ValueError, match=named(path, r"it is empty \(0 bytes\)")):
        jaxgd.load(path)


@pytest.mark.skipif(not Path("/proc/self/status").is_file(), reason="needs Linux's /proc")
def test_a_file_whose_size_reads_zero_but_holds_text_is_not_called_empty():
    # Files under /proc report 0 bytes and hold text: the reason must be what they hold.
    with pytest.raises(ValueError, match=r"not an \.npz archive") as caught:
        jaxgd.load("/proc/self/status")
    assert "empty" not in str(caught.value)


FLOATS = ["float16", "float32", "float64", "longdouble"]
WHOLE = ["int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"]


@pytest.mark.thorough
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data_type=st.sampled_from(FLOATS),
    start_type=st.sampled_from(FLOATS),
    rate_type=st.sampled_from(FLOATS),
    epoch_type=st.sampled_from(WHOLE),
    swap=st.sets(st.sampled_from(NAMES)),
    seed=st.integers(0, 2**32 - 1),
)
def test_every_dtype_and_byte_order_round_trips_bit_for_bit(
    data_type, start_type, rate_type, epoch_type, swap, seed
):
    rng = np.random.default_rng(seed)
    shape = tuple(rng.integers(0, 4, 3))
    final = rng.normal(size=shape).astype(data_type)
    value = rng.normal(size=shape).astype(data_type)
    if final.size:
        final.flat[rng.integers(final.size)] = np.nan
        value.flat[rng.integers(value.size)] = -np.inf
    arrays = {
        "final": final,
        "value": value,
        "diverged": ~(np.isfinite(final) & np.isfinite(value)),
        "starts": rng.normal(size=shape[0]).astype(start_type),
        "learning_rates": rng.uniform(0, 1, shape[1]).astype(rate_type),
        "epochs": rng.integers(0, 100, shape[2]).astype(epoch_type),
    }
    swapped = {
        k: a.astype(a.dtype.newbyteorder(">" if k in swap else "<")) for k, a in arrays.items()
    }
    with tempfile.TemporaryDirectory() as folder:
        back = jaxgd.load(SweepResult(**swapped, function="f").save(Path(folder) / "r"))
    for name, want in arrays.items():
        got = getattr(back, name)
        assert got.dtype == want.dtype and got.dtype.isnative, name
        assert got.shape == want.shape and got.tobytes() == want.tobytes(), name
