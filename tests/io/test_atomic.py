"""The one atomic write: named partial files, normal permissions, stale ones cleaned."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time

import pytest

from napari_sleap.io.atomic import (
    PARTIAL_MARK,
    atomic_path,
    clean_stale_partials,
    partial_path,
    write_text,
)


def _mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _dead_pid() -> int:
    out = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(out.stdout)


def test_new_file_gets_umask_permissions_not_owner_only(tmp_path):
    old = os.umask(0o022)
    try:
        path = write_text(tmp_path / "config.yaml", "a: 1\n")
    finally:
        os.umask(old)
    assert _mode(path) == 0o644
    assert path.read_text() == "a: 1\n"


def test_replaced_file_keeps_its_mode(tmp_path):
    path = tmp_path / "report.json"
    path.write_text("{}")
    path.chmod(0o640)
    write_text(path, '{"a": 1}')
    assert _mode(path) == 0o640 and path.read_text() == '{"a": 1}'


def test_failed_write_keeps_the_old_file_and_leaves_nothing(tmp_path):
    path = tmp_path / "labels.csv"
    path.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(path, suffix=".csv") as tmp:
        tmp.write_text("half")
        raise RuntimeError("disk gone")
    assert path.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["labels.csv"]


def test_partial_name_says_what_it_is(tmp_path):
    name = partial_path(tmp_path / "out.slp", ".slp").name
    assert name.startswith(".out.slp" + PARTIAL_MARK) and name.endswith(".slp")
    assert str(os.getpid()) in name


def test_stale_partials_of_dead_writers_go_live_ones_stay(tmp_path):
    target = tmp_path / "out.csv"
    dead = tmp_path / f".out.csv{PARTIAL_MARK}{_dead_pid()}-0123abcd.csv"
    live = tmp_path / f".out.csv{PARTIAL_MARK}{os.getpid()}-0123abcd.csv"
    legacy_old = tmp_path / ".out.csv.k3j4h5g6.tmp.csv"
    legacy_new = tmp_path / ".out.csv.a1b2c3d4.tmp.csv"
    other = tmp_path / ".other.csv.napari-sleap-partial-1-0123abcd.csv"
    for p in (dead, live, legacy_old, legacy_new, other):
        p.write_text("partial")
    past = time.time() - 7200
    os.utime(legacy_old, (past, past))
    removed = clean_stale_partials(target)
    assert set(removed) == {dead, legacy_old}
    assert live.exists() and legacy_new.exists() and other.exists()


def test_write_cleans_stale_partials_of_the_same_file(tmp_path):
    dead = tmp_path / f".out.csv{PARTIAL_MARK}{_dead_pid()}-0123abcd.csv"
    dead.write_text("partial")
    write_text(tmp_path / "out.csv", "x")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]


def test_folder_target_and_missing_folder_are_refused(tmp_path):
    (tmp_path / "d").mkdir()
    with pytest.raises(IsADirectoryError, match="is a folder"):
        write_text(tmp_path / "d", "x")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        write_text(tmp_path / "nope" / "x.txt", "x")


def test_stale_partial_zarr_store_of_a_killed_cache_is_removed(tmp_path):
    store = tmp_path / f".clip.zarr{PARTIAL_MARK}{_dead_pid()}-0123abcd"
    (store / "c" / "0").mkdir(parents=True)
    (store / "zarr.json").write_text("{}")
    other = tmp_path / ".clip.zarr.somebody-elses"
    other.mkdir()
    assert clean_stale_partials(tmp_path / "clip.zarr") == [store]
    assert not store.exists() and other.exists()
