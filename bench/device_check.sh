#!/usr/bin/env bash
# Device check (docs/device_check.md): inference speed of the fly models on a GPU
# machine that has jax/torch/OpenCV but no TensorFlow, no Keras and no network.
# Needs what bench/device_check_prep.sh made here, carried: .devcheck and .whl.
# Writes $OUT/device_check.json and $OUT/device_check.md (bench/results without $OUT).
#
#   bash bench/device_check.sh [--budget 240] [--batches 1,8,32,64] [--backends jax,torch]
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-python3}
WHEELS=${WHEELS:-.whl}
SITE=${SITE:-/tmp/site}
DEST=${OUT:-bench/results}
mkdir -p "$DEST"
# Keras and what it needs that the image lacks: installed from the carried wheels.
if ls "$WHEELS"/*.whl >/dev/null 2>&1; then
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target "$SITE" "$WHEELS"/*.whl || { echo "wheel install failed" >&2; exit 3; }
  export PYTHONPATH="$SITE${PYTHONPATH:+:$PYTHONPATH}"
fi
# The project runs from its source tree (no install, no TensorFlow needed).
export PYTHONPATH="$PWD/src:${PYTHONPATH:-}"
export PYTHONUNBUFFERED=1
export DEVICE_CHECK_COMMAND="bash bench/device_check.sh${*:+ $*}"
"$PY" -c "import sys, platform; print('python', platform.python_version(), sys.executable)"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
# Hard stop well inside the 5 minutes even if a worker ignores its deadline.
timeout -k 5 285 "$PY" bench/device_check.py --out "$DEST" "$@" 2>&1 | tee "$DEST/device_check.log"
status=${PIPESTATUS[0]}
[[ -f "$DEST/device_check.md" ]] && cat "$DEST/device_check.md"
exit "$status"
