#!/bin/bash
# The equal-budget ablation of issue 4 (bench/bench_image_generation.py): the emotion adapter ("both",
# the shipped recipe) and the two baselines (the emotion's words in the prompt; diffusers' class_labels
# projection into the time embedding), trained side by side from train/configs/image_emofaces.yaml with
# the same data, batch, seed and settings, into runs/emofaces-image-ablation/{adapter,prompt-word,class-labels}.
#
#   train/image_ablation.sh                       # 6000 steps each (the shipped model's budget)
#   STEPS=4000 WORKERS=4 train/image_ablation.sh  # another budget; DataLoader workers per run
#   DEADLINE=380 train/image_ablation.sh          # stop after 380 s and save all three at the last
#                                                 # checkpoint step that every run reached
#   ROOT=/data/ablation PYTHON=python3 train/image_ablation.sh   # elsewhere (a relative ROOT is taken
#                                                 # from the repository root); another interpreter
#
# Each run checkpoints every CHECKPOINT_STEPS (default 500) steps and keeps them all, so an interrupted
# ablation is continued by running the same command again (--resume_from_checkpoint latest), and a
# DEADLINE still yields three models of one budget. On a 2-core CPU a step takes ~3.6 s per run; on one
# GPU the runs are bound by rendering EmoFaces on the CPU (~3.6 ms per 64 px face per worker).
set -u
cd "$(dirname "$0")/.."
STEPS=${STEPS:-6000}
CHECKPOINT_STEPS=${CHECKPOINT_STEPS:-500}
WORKERS=${WORKERS:-1}
DEADLINE=${DEADLINE:-0}
ROOT=${ROOT:-runs/emofaces-image-ablation}
PYTHON=${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python3 )}
declare -A MODE=([adapter]=both [prompt-word]=prompt_word [class-labels]=class_labels)
NAMES="adapter prompt-word class-labels"
COMMON=(--config train/configs/image_emofaces.yaml --save_fp16 true --validation_steps 0 --validation_scorer none
        --dataloader_num_workers "$WORKERS" --checkpointing_steps "$CHECKPOINT_STEPS" --checkpoints_total_limit 1000
        --delete_checkpoints_at_end false)
started=$(date +%s)
stopped=0
mkdir -p "$ROOT"

train() {  # name steps [extra args]: one run in the background, its log in ROOT/name.log
  local name=$1 steps=$2; shift 2
  "$PYTHON" train/train_image.py "${COMMON[@]}" --adapter_mode "${MODE[$name]}" --output_dir "$ROOT/$name" \
    --max_train_steps "$steps" "$@" >>"$ROOT/$name.log" 2>&1 &
  PIDS[$name]=$!
}

last_checkpoint() {  # the newest complete checkpoint-N of a run (0 when none)
  { echo 0; ls "$ROOT/$1" 2>/dev/null | grep -E '^checkpoint-[0-9]+$' | sed 's/checkpoint-//'; } | sort -n | tail -1
}

case $STEPS$CHECKPOINT_STEPS$WORKERS$DEADLINE in
  *[!0-9]*) echo "STEPS, CHECKPOINT_STEPS, WORKERS and DEADLINE must be whole numbers; got" \
                 "STEPS=$STEPS CHECKPOINT_STEPS=$CHECKPOINT_STEPS WORKERS=$WORKERS DEADLINE=$DEADLINE" >&2
            exit 2 ;;
esac
declare -A PIDS
for name in $NAMES; do
  rm -f "$ROOT/$name/model_index.json"  # written last: a folder with it is a finished model
  train "$name" "$STEPS" --resume_from_checkpoint latest
done
while :; do
  alive=0
  for name in $NAMES; do kill -0 "${PIDS[$name]}" 2>/dev/null && alive=1; done
  [ $alive = 0 ] && break
  if [ "$DEADLINE" -gt 0 ] && [ $(( $(date +%s) - started )) -ge "$DEADLINE" ]; then
    for name in $NAMES; do pkill -TERM -P "${PIDS[$name]}" 2>/dev/null; kill -TERM "${PIDS[$name]}" 2>/dev/null; done
    stopped=1
    break
  fi
  sleep 3
done
wait

finished=1
for name in $NAMES; do [ -f "$ROOT/$name/model_index.json" ] || finished=0; done
if [ $finished = 1 ]; then
  echo "ablation finished: $STEPS steps each in $ROOT"
  exit 0
fi
if [ $stopped = 0 ]; then
  for name in $NAMES; do
    if [ ! -f "$ROOT/$name/model_index.json" ]; then
      echo "the $name run failed; the end of $ROOT/$name.log:" >&2
      tail -3 "$ROOT/$name.log" >&2
    fi
  done
  exit 1
fi
# Stopped early: save every run at the last step all of them reached (one budget for the bench).
common=$(for name in $NAMES; do last_checkpoint "$name"; done | sort -n | head -1)
if [ "$common" -eq 0 ]; then
  echo "stopped before any checkpoint that all three runs reached; see $ROOT/*.log" >&2
  exit 1
fi
for name in $NAMES; do
  train "$name" "$common" --resume_from_checkpoint "$ROOT/$name/checkpoint-$common"
done
wait
for name in $NAMES; do
  [ -f "$ROOT/$name/model_index.json" ] || { echo "saving $name at step $common failed; see $ROOT/$name.log" >&2; exit 1; }
done
echo "ablation stopped at the deadline: saved at step $common each in $ROOT (run again to continue to $STEPS)"
