#!/usr/bin/env bash
# What no CPU can show: the command line's CUDA and AMP paths, end to end, on a GPU machine.
#
#   bash tools/gpu_check.sh OUT_DIR [DEVICE] [MINUTES]    # DEVICE: cuda (default) or cpu (a dry run)
#
# Generates a small dataset, then for the presets cpu_fast and detr_r50 (random weights: nothing
# is downloaded) trains with `main.py train --device DEVICE` for MINUTES (default 2; AMP is on
# by default on CUDA), predicts the held-out photos with the last checkpoint, evaluates them
# (PQ and the crack measures), and measures training throughput and peak GPU memory
# (bench/bench_training.py). Every step's output goes to OUT_DIR/*.log; a step that fails is
# reported and the next one runs. The summary at the end names each step's exit status (predict
# exits 1 by design here: the photos folder also holds the training photos, which it skips).
set -u
OUT=${1:?usage: bash tools/gpu_check.sh OUT_DIR [DEVICE] [MINUTES]}
DEVICE=${2:-cuda}
MINUTES=${3:-2}
PY=${PYTHON:-python}
mkdir -p "$OUT"
declare -a SUMMARY

step() {  # step NAME COMMAND...: run, log, remember the status
    local name=$1; shift
    local t0=$SECONDS
    "$@" > "$OUT/$name.log" 2>&1
    local rc=$?
    SUMMARY+=("$name: exit $rc, $((SECONDS - t0)) s")
    echo "== $name: exit $rc, $((SECONDS - t0)) s"; tail -n 6 "$OUT/$name.log"
}

[ "$DEVICE" = cpu ] || step nvidia_smi nvidia-smi
step torch_info "$PY" -c "import torch; print(torch.__version__, torch.version.cuda, torch.cuda.is_available(),
torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'no GPU', torch.cuda.is_bf16_supported()
if torch.cuda.is_available() else '')"
step synth "$PY" main.py synth "$OUT/data" --n 48 --seed 7 --size 384 --val-fraction 0.25 --overwrite
for preset in cpu_fast detr_r50; do
    step "train_$preset" "$PY" main.py train "$OUT/data/panoptic_train.json" --val "$OUT/data/panoptic_val.json" \
        --preset "$preset" --init random --device "$DEVICE" --max-minutes "$MINUTES" --out "$OUT/runs/$preset" \
        --overwrite --eval-every 1
    step "predict_$preset" "$PY" main.py predict "$OUT/runs/$preset/last.pt" "$OUT/data/images" --device "$DEVICE" \
        --out "$OUT/pred_$preset" --ids-from "$OUT/data/panoptic_val.json" --no-overlays
    step "evaluate_$preset" "$PY" main.py evaluate --gt "$OUT/data/panoptic_val.json" \
        --pred "$OUT/pred_$preset/panoptic_pred.json" --thin-metrics --per-class
done
step bench_training "$PY" -m bench.bench_training --runs cpu_fast@320,detr_r50@512 --steps 10 --warmup 2 \
    --device "$DEVICE" --json "$OUT/bench_training.json"
printf '%s\n' "${SUMMARY[@]}" | tee "$OUT/summary.txt"
