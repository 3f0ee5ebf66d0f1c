#!/bin/bash
# Every check of this project that needs a CUDA GPU, in one run, its results packed into OUT_DIR as at
# most 6 files: session.log, gpu-tests + recipe logs (logs.tar.gz), gpu_recipe.json, and the three
# ablation models (adapter.tar.gz, prompt-word.tar.gz, class-labels.tar.gz, fp16, ~9 MB each).
#
#   scripts/gpu_checks.sh OUT_DIR            # on a machine with a GPU, from any folder
#   ABLATION_DEADLINE=380 RECIPE_END=535 scripts/gpu_checks.sh OUT_DIR   # a time-boxed session
#
# 1. tests/gpu (fp16 sampling with SDPA / xFormers, fp16 mixed-precision training steps);
# 2. issue 4's equal-budget ablation (train/image_ablation.sh: 6000 steps each, or, with
#    ABLATION_DEADLINE seconds, all three saved at the last checkpoint step each reached), four
#    DataLoader workers per run; score the models afterwards on any machine with
#    EMOGEN_ABLATION_ROOT=<unpacked folder> python bench/bench_image_generation.py;
# 3. the GPU recipe's memory table (scripts/measure_gpu_recipe.py), if RECIPE_END (seconds from the
#    start) leaves at least a minute for it.
# Python packages the machine lacks can be installed first from wheels in WHEELS_DIR (pip --no-index).
set -u
OUT_DIR=${1:?usage: scripts/gpu_checks.sh OUT_DIR}
cd "$(dirname "$0")/.."
started=$(date +%s)
elapsed() { echo $(( $(date +%s) - started )); }
PYTHON=${PYTHON:-python3}
LOGS=$(mktemp -d)
mkdir -p "$OUT_DIR"
LOG=$OUT_DIR/session.log
if [ -n "${WHEELS_DIR:-}" ] && [ -d "$WHEELS_DIR" ]; then
  "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/gpu-site \
    "$WHEELS_DIR"/*.whl >>"$LOG" 2>&1 || { echo "wheel install failed" >>"$LOG"; exit 1; }
  export PYTHONPATH=/tmp/gpu-site
fi
export PYTHONPATH=${PYTHONPATH:+$PYTHONPATH:}$PWD PYTHONUNBUFFERED=1
{ nvidia-smi; echo "cpus: $(nproc)"
  "$PYTHON" -c "import torch, diffusers, transformers, accelerate; print('torch', torch.__version__, 'diffusers', diffusers.__version__, 'transformers', transformers.__version__, 'accelerate', accelerate.__version__)"; } >>"$LOG" 2>&1

ABLATION_ROOT=$(mktemp -d)/emofaces-image-ablation
ROOT=$ABLATION_ROOT WORKERS=${ABLATION_WORKERS:-4} DEADLINE=${ABLATION_DEADLINE:-0} PYTHON=$PYTHON \
  train/image_ablation.sh >"$LOGS/ablation.log" 2>&1 &
ablation=$!
echo "t=$(elapsed) ablation started in $ABLATION_ROOT" >>"$LOG"

"$PYTHON" -m pytest -q -m gpu tests/gpu -p no:cacheprovider >"$LOGS/gpu-tests.log" 2>&1
rc=$?
echo "t=$(elapsed) tests/gpu rc=$rc: $(tail -1 "$LOGS/gpu-tests.log")" >>"$LOG"

wait $ablation
rc=$?
echo "t=$(elapsed) ablation rc=$rc: $(tail -1 "$LOGS/ablation.log")" >>"$LOG"
for name in adapter prompt-word class-labels; do
  echo "  $name: $(grep -E '^step [0-9]+' "$ABLATION_ROOT/$name.log" | tail -1)" >>"$LOG"
  cp "$ABLATION_ROOT/$name.log" "$LOGS/" 2>/dev/null
  [ -f "$ABLATION_ROOT/$name/model_index.json" ] &&
    tar --exclude='checkpoint-*' -czf "$OUT_DIR/$name.tar.gz" -C "$ABLATION_ROOT" "$name"
done

RECIPE_END=${RECIPE_END:-100000}
if [ $(( RECIPE_END - $(elapsed) )) -ge 60 ]; then
  timeout $(( RECIPE_END - $(elapsed) )) "$PYTHON" scripts/measure_gpu_recipe.py --out "$OUT_DIR/gpu_recipe.json" \
    >"$LOGS/gpu-recipe.log" 2>&1
  rc=$?
  echo "t=$(elapsed) recipe rc=$rc" >>"$LOG"
fi
tar -czf "$OUT_DIR/logs.tar.gz" -C "$LOGS" .
echo "t=$(elapsed) done" >>"$LOG"
