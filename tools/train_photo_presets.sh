#!/usr/bin/env bash
# Train the photo presets (beta and fusion-lite0, two chroma penalties each) side by side.
#
#   [PENALTIES="0.5 2"] [FUSION_ARGS=...] tools/train_photo_presets.sh DATA_ROOT RUNS_DIR [MINUTES] [WORKERS]
#
# DATA_ROOT holds tiny-imagenet-val/images and bsds500/train (e.g. ../shared/data/photos);
# bsds500/test is never read. Each run trains at 128 px for MINUTES (default 5) of wall
# clock (callbacks.TimeBudget: the epochs that fit, cosine decay fitted to them), with
# WORKERS data-loading processes (default 3), and writes RUNS_DIR/<name>/ (history.csv,
# metrics.json on its held-out photos, report.html) and kcolor/weights/<name>.weights.h5.
# Meant for a CUDA GPU with >= 16 CPU cores (the four runs share the GPU); on a CPU, run
# one of the commands below on its own with fewer workers. PENALTIES lists the
# SaturationMSE penalties (one beta and one fusion run each); FUSION_ARGS adds options to
# the fusion runs: FUSION_ARGS=--no-cache embeds every augmented batch, which stops the
# fusion net from memorising photos by their cached embedding (see the preset's note).
set -uo pipefail
DATA=${1:?DATA_ROOT}; RUNS=${2:?RUNS_DIR}; MINUTES=${3:-5}; WORKERS=${4:-3}
PY=${PYTHON:-python3}
photos=("$DATA/tiny-imagenet-val/images" "$DATA/bsds500/train")
common=(--size 128 --batch-size 64 --epochs 200 --repeat 2 --lr 1e-3 --loss saturation
        --val-max 128 --minutes "$MINUTES" --workers "$WORKERS")
mkdir -p "$RUNS" kcolor/weights
# Scan once (grey photos dropped; cached in ~/.cache/kcolor) so the four runs skip it.
$PY -c "import sys; sys.path.insert(0, 'examples'); from _load import load_example; \
print(len(load_example('05_beta.py').colour_photos(sys.argv[1:])[0]), 'colour photos')" "${photos[@]}"
pids=()
for p in ${PENALTIES:-0.5 2}; do
  $PY examples/05_beta.py --data "${photos[@]}" "${common[@]}" --penalty $p \
      --out "$RUNS/beta-p$p" --save-preset "beta-photos-p$p" > "$RUNS/beta-p$p.log" 2>&1 &
  pids+=($!)
  $PY examples/06_full.py --data "${photos[@]}" "${common[@]}" --penalty $p \
      --embedder efficientnet_lite0 ${FUSION_ARGS:-} --out "$RUNS/fusion-p$p" \
      --save-preset "fusion-lite0-photos-p$p" > "$RUNS/fusion-p$p.log" 2>&1 &
  pids+=($!)
done
status=0
for pid in "${pids[@]}"; do wait "$pid" || status=1; done
tail -n 4 "$RUNS"/*.log
exit $status
