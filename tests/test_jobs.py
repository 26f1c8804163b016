"""The job runner: real jobs in spawned processes, streamed back, stoppable."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sleap_io as sio

from napari_sleap.jobs import JobEvent, start_job


def _drain(handle, timeout=60.0) -> list[JobEvent]:
    """Poll like a GUI timer would until the job ends."""
    events: list[JobEvent] = []
    deadline = time.monotonic() + timeout
    while not handle.done:
        assert time.monotonic() < deadline, f"{handle} did not end in {timeout} s"
        events += handle.poll()
        time.sleep(0.05)
    return events


def test_job_streams_progress_and_returns_result(tmp_path):
    handle = start_job(
        "napari_sleap.sample:make_sample",
        {"out_dir": tmp_path, "n_frames": 20, "size": 96},
        min_interval=0.0,
    )
    assert handle.pid and handle.pid != os.getpid()
    events = _drain(handle)
    kinds = [e.kind for e in events]
    assert kinds[0] == "started" and kinds[-1] == "result"
    steps = [(e.done, e.total) for e in events if e.kind == "progress"]
    assert len(steps) == 22 and steps[-1] == (22, 22)
    assert [d for d, _ in steps] == sorted(d for d, _ in steps)
    assert handle.status == "done" and handle.progress == (22, 22)
    paths = handle.result
    assert len(sio.load_slp(str(paths.gt))) == 20
    handle.wait(10)
    assert handle.exitcode == 0 and not handle.is_alive()
    assert handle.poll() == []


def test_stop_ends_a_job_that_checks_its_flag(tmp_path):
    handle = start_job(
        "napari_sleap.sample:make_sample",
        {"out_dir": tmp_path, "n_frames": 100_000, "size": 256},
    )
    deadline = time.monotonic() + 60
    while handle.progress is None and not handle.done:
        assert time.monotonic() < deadline
        handle.poll()
        time.sleep(0.05)
    handle.stop(grace_s=30)
    assert handle.wait(40) == "stopped"
    assert handle.exitcode == 0
    assert list(tmp_path.iterdir()) == []  # the partial video was removed


def test_stop_terminates_a_job_that_ignores_it():
    handle = start_job(
        "napari_sleap.jobs.selftest:idle",
        {"seconds": 60, "steps": 600, "honour_stop": False},
    )
    while not any(line.startswith("INFO") for line in handle.logs):
        handle.poll()
        assert handle.is_alive(), handle.error
        time.sleep(0.05)
    started = time.monotonic()
    handle.stop(grace_s=0.5)  # returns at once; a thread enforces the grace
    assert time.monotonic() - started < 0.5
    assert handle.wait(15) == "killed"
    assert handle.exitcode is not None and handle.exitcode < 0
    assert "idle step 1 of 600" in "\n".join(handle.logs)


def test_an_exception_comes_back_with_message_and_traceback(tmp_path):
    handle = start_job(
        "napari_sleap.sample:make_sample", {"out_dir": tmp_path, "size": 127}
    )
    events = _drain(handle)
    assert events[-1].kind == "error" and events[-1].error_type == "ValueError"
    assert handle.status == "failed"
    assert "size 127" in handle.error and "even" in handle.error
    assert "_frame_hw" in handle.traceback
    handle.wait(10)
    assert handle.exitcode == 0


def test_bad_targets_get_clear_errors():
    with pytest.raises(ValueError, match="module:function"):
        start_job("napari_sleap.sample.make_sample")
    handle = start_job("napari_sleap.sample:no_such_function")
    handle.wait(60)
    assert handle.status == "failed" and "no_such_function" in handle.error


MAIN_SCRIPT = """\
import json, pathlib, sys
pathlib.Path(sys.argv[1]).open("a").write("main ran\\n")
import napari  # as the `napari` launcher does, before any job starts
from napari_sleap.jobs import start_job

# No `if __name__ == "__main__"` guard: the job process must not re-run this file.
h = start_job("napari_sleap.jobs.selftest:tensorflow_probe", {"size": 8},
              env={"TF_CPP_MIN_LOG_LEVEL": "3"})
status = h.wait(120)
has_tf = "tensorflow" in sys.modules or "keras" in sys.modules
print(json.dumps({"status": status, "result": h.result, "error": h.error,
                  "parent_has_tf": has_tf}))
"""


def test_tensorflow_job_leaves_the_parent_without_tensorflow(tmp_path):
    # A fresh parent process, so other tests' imports cannot hide a leak.
    script, marker = tmp_path / "parent.py", tmp_path / "marker.txt"
    script.write_text(MAIN_SCRIPT)
    out = subprocess.run(
        [sys.executable, str(script), str(marker)],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert out.returncode == 0, out.stderr[-2000:]
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["status"] == "done", report["error"]
    assert report["result"]["sum"] == 8.0**3
    assert report["result"]["version"].startswith("2.")
    assert report["parent_has_tf"] is False
    # The job started from a bare __main__: the parent's script ran once, and
    # napari (imported by the parent) was not loaded beside TensorFlow.
    assert marker.read_text() == "main ran\n"
    assert report["result"]["gui_modules_in_job"] == []


def test_logs_and_emitted_data_come_back():
    handle = start_job(
        "napari_sleap.jobs.selftest:idle",
        {"seconds": 0.2, "steps": 4, "native_output": True},
    )
    assert handle.wait(60) == "done" and handle.result == 4
    logs = list(handle.logs)
    assert "INFO napari_sleap.jobs.selftest: idle step 4 of 4" in logs
    assert [line for line in logs if line.startswith("native step")] == [
        f"native step {i}" for i in range(1, 5)
    ]
    # Data the job emitted arrives in order under its name.
    assert [d["step"] for d in handle.data["step"]] == [1, 2, 3, 4]


def test_importing_the_runner_loads_no_gui_and_no_tensorflow():
    code = (
        "import sys, napari_sleap.jobs, napari_sleap.sample;"
        "heavy = ('tensorflow', 'keras', 'napari', 'qtpy', 'PyQt6', 'vispy');"
        "print(','.join(m for m in heavy if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == ""


ORPHAN_SCRIPT = """\
import os, time
from napari_sleap.jobs import start_job

h = start_job("napari_sleap.jobs.selftest:idle",
              {"seconds": 600, "steps": 60000, "honour_stop": HONOUR},
              orphan_grace_s=2.0)
while not h.logs:
    h.poll()
    time.sleep(0.02)
print(h.pid, flush=True)
os._exit(0)  # the parent dies without stopping its job (as a crash would)
"""


def _gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/status") as f:
            return any(line.split()[:2] == ["State:", "Z"] for line in f)
    except FileNotFoundError:
        return True


@pytest.mark.parametrize("honour", [True, False])
def test_a_job_whose_parent_dies_ends(tmp_path, honour):
    if not Path("/proc").exists():
        pytest.skip("needs /proc to see the orphaned process")
    script = tmp_path / "parent.py"
    script.write_text(ORPHAN_SCRIPT.replace("HONOUR", str(honour)))
    out = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120
    )
    pid = int(out.stdout.split()[0])
    deadline = time.monotonic() + 30
    while not _gone(pid):
        assert time.monotonic() < deadline, f"orphaned job {pid} still runs"
        time.sleep(0.1)


@pytest.mark.skipif(not hasattr(os, "nice"), reason="POSIX niceness only")
def test_nice_lowers_only_the_job_priority():
    """A job started with ``nice`` runs that much lower; the parent is untouched."""
    parent = os.nice(0)
    plain = start_job("napari_sleap.jobs.selftest:niceness")
    niced = start_job("napari_sleap.jobs.selftest:niceness", nice=10)
    for handle in (plain, niced):
        _drain(handle)
        assert handle.status == "done", handle.error
    assert plain.result == parent
    assert niced.result == min(19, parent + 10)
    assert os.nice(0) == parent
