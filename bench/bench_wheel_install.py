"""Fresh install of the built wheel from PyPI: uv against pip, same wheel, same box.

Each installer gets a new venv, no cache, no config and no constraints (as
tests/test_wheel_install.py installs), the wheel plus PyQt6. Writes JSON to
bench/results/ and prints the seconds of each.

    .venv/bin/python bench/bench_wheel_install.py
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.*

from tests.test_wheel import build_wheel  # noqa: E402

RESULTS = Path(__file__).parent / "results"


def _timed(cmd: list[str], env: dict[str, str] | None = None) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, env=env, timeout=1800)
    return round(time.perf_counter() - start, 1)


def main() -> None:
    base = getattr(sys, "_base_executable", sys.executable)
    uv = str(Path(sys.executable).with_name("uv"))
    work = Path(tempfile.mkdtemp(prefix="wheel_install_"))
    try:
        wheel = str(build_wheel(work / "wheel"))
        loads = [os.getloadavg()[0]]
        _timed([uv, "venv", "--quiet", "--python", base, str(work / "uv")])
        uv_s = _timed(
            [uv, "pip", "install", "--quiet", "--no-config", "--no-cache"]
            + ["--python", str(work / "uv" / "bin" / "python"), wheel, "PyQt6"]
        )
        loads.append(os.getloadavg()[0])
        shutil.rmtree(work / "uv")
        _timed([base, "-m", "venv", str(work / "pip")])
        env = {**os.environ, "PIP_CONFIG_FILE": os.devnull}
        for key in ("PIP_FIND_LINKS", "PIP_CONSTRAINT", "PIP_EXTRA_INDEX_URL"):
            env.pop(key, None)
        pip_s = _timed(
            [str(work / "pip" / "bin" / "pip"), "install", "--quiet", "--no-cache-dir"]
            + [wheel, "PyQt6"],
            env=env,
        )
        loads.append(os.getloadavg()[0])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    out = {
        "date": str(date.today()),
        "machine": platform.node(),
        "loads": loads,
        "uv_s": uv_s,
        "pip_s": pip_s,
    }
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"wheel_install_{out['date']}.json"
    path.write_text(json.dumps(out, indent=1))
    print(f"uv {uv_s} s, pip {pip_s} s (load {loads}); {path}")


if __name__ == "__main__":
    main()
