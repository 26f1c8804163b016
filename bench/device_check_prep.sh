#!/usr/bin/env bash
# Prepare what bench/device_check.sh needs on a GPU machine that has no network,
# no TensorFlow and no Keras (docs/device_check.md):
#   .devcheck/models/top-down/{centroid,centered_instance}  short-trained fly models
#   .devcheck/models/bottom-up/bottom_up                     short-trained fly model
#   .devcheck/clip300.mp4   300 frames (950..1249) of ../shared/data/clip.mp4, 1024x1024
#   .whl/                   cp312 manylinux wheels of Keras and what it needs there
# Both folders are git-ignored and travel with `carry`. Rerunning skips what exists;
# FORCE=1 redoes everything; UNTRAINED=1 builds untrained models (seconds, not
# ~15 minutes of training; docs/device_check.md).
#
#   bash bench/device_check_prep.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
DATA=${DATA:-../shared/data}
DEST=.devcheck
WHEELS=${WHEELS:-.whl}
mkdir -p "$DEST/models"
[[ "${FORCE:-0}" == 1 ]] && rm -rf "$DEST/models"/* "$DEST/clip300.mp4" "$WHEELS"

# 1. Models: the built-in recipes for 1024x1024 flies, ~200 steps each; or, with
#    UNTRAINED=1, the same architectures untrained (seconds; the check then forces
#    peaks so the end-to-end path still does two animals' work per frame).
if [[ "${UNTRAINED:-0}" == 1 && ! -f "$DEST/models/UNTRAINED" ]]; then
  rm -rf "$DEST/models" && mkdir -p "$DEST/models"
  "$PY" bench/device_check_untrained.py "$DEST/models"
fi
for pipeline in top-down bottom-up; do
  if [[ ! -f "$DEST/models/UNTRAINED" && ! -f "$DEST/models/$pipeline/.done" ]]; then
    nice -n 10 "$PY" -m napari_sleap train "$DATA/clip_train.slp" \
      --pipeline "$pipeline" -o "$DEST/models/$pipeline" \
      --config bench/device_check_train.yaml --max-minutes 8 --seed 0 --quiet
    # Only what inference reads travels: the model file and model_info.json.
    for m in "$DEST/models/$pipeline"/*/; do
      find "$m" -mindepth 1 -maxdepth 1 ! -name best.keras ! -name model_info.json \
        ! -name config.yaml -exec rm -rf {} +
    done
    touch "$DEST/models/$pipeline/.done"
  fi
done

# 2. A short 1024x1024 clip, re-encoded (H.264, keyframe every 30 frames).
if [[ ! -f "$DEST/clip300.mp4" ]]; then
  FFMPEG=$("$PY" -c "import imageio_ffmpeg; print(imageio_ffmpeg.get_ffmpeg_exe())")
  "$FFMPEG" -loglevel error -y -i "$DATA/clip.mp4" \
    -vf "trim=start_frame=950:end_frame=1250,setpts=PTS-STARTPTS" \
    -c:v libx264 -pix_fmt yuv420p -g 30 -crf 20 -an "$DEST/clip300.tmp.mp4"
  mv "$DEST/clip300.tmp.mp4" "$DEST/clip300.mp4"
fi

# 3. Wheels the GPU image lacks (it has numpy, h5py, absl-py, rich, ml-dtypes,
#    packaging, typing-extensions, attrs, imageio, pandas, opencv, scipy, pyyaml,
#    jax, torch): Keras, namex, optree, and sleap-io (pure Python; the predictor
#    names its skeleton with it). Versions follow constraints.txt.
pin() { grep -i "^$1==" constraints.txt | head -1; }
if [[ ! -d "$WHEELS" ]] || ! ls "$WHEELS"/sleap_io-*.whl >/dev/null 2>&1; then
  mkdir -p "$WHEELS"
  "$PY" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
    --implementation cp --platform manylinux_2_28_x86_64 \
    --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 -d "$WHEELS" \
    "$(pin keras)" "$(pin namex)" "$(pin optree)" "$(pin sleap-io)"
fi
du -sh "$DEST" "$WHEELS"
