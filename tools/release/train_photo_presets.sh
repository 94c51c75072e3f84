#!/usr/bin/env bash
# Train the photo presets (beta and fusion-lite0, two chroma penalties each) side by side,
# with `kcolor train` (kcolor.training.train, the one training path), then export each run
# as a float16 preset folder kcolor/weights/<name>/ (tools/release/export_preset.py).
#
#   [PENALTIES="0.5 2"] [FUSION_ARGS=...] [EXPORT_DIR=kcolor/weights] [DRY_RUN=1] \
#       tools/release/train_photo_presets.sh DATA_ROOT RUNS_DIR [MINUTES] [WORKERS]
#
# DATA_ROOT holds tiny-imagenet-val/images and bsds500/train (e.g. ../shared/data/photos);
# bsds500/test is never read. Each run trains at 128 px for MINUTES (default 5) of wall
# clock (--minutes: the whole epochs that fit, cosine decay fitted to them), with WORKERS
# data-loading processes (default 3), and writes the run folder RUNS_DIR/<name>/ (a preset
# folder: config.json, model.weights.h5 of the best epoch, metadata.json with the command;
# history.csv, previews/, report.html) and its log RUNS_DIR/<name>.log. RUNS_DIR/<name>/
# must not hold a finished run (kcolor train refuses to overwrite one).
# Meant for a CUDA GPU with >= 16 CPU cores (the four runs share the GPU); on a CPU, run
# one of the commands on its own with fewer workers (DRY_RUN=1 prints them, runs nothing).
# PENALTIES lists the SaturationMSE penalties (one beta and one fusion run each). The
# fusion runs embed each photo once, un-augmented (--embed-cache), as the shipped fusion
# preset's first stage did; FUSION_ARGS adds options to them: FUSION_ARGS=--no-cache
# embeds every augmented batch instead (kcolor train's default), which stops the fusion
# net from memorising photos by their cached embedding (see the preset's note).
# EXPORT_DIR: where the exported preset folders go (default kcolor/weights).
set -uo pipefail
DATA=${1:?DATA_ROOT}; RUNS=${2:?RUNS_DIR}; MINUTES=${3:-5}; WORKERS=${4:-3}
PY=${PYTHON:-python3}
EXPORT=${EXPORT_DIR:-kcolor/weights}
photos=("$DATA/tiny-imagenet-val/images" "$DATA/bsds500/train")
common=(--size 128 --batch-size 64 --epochs 200 --repeat 2 --lr 1e-3 --loss saturation
        --val-max 128 --minutes "$MINUTES" --workers "$WORKERS" --quiet)
cache=(--embed-cache)
fusion_args=()
for a in ${FUSION_ARGS:-}; do
  if [[ $a == --no-cache ]]; then cache=(); else fusion_args+=("$a"); fi
done

# RUN_DIR NAME -- kcolor train's options: train into RUN_DIR, then export it as NAME.
train_and_export() {
  local run=$1 name=$2; shift 2
  if [[ -n ${DRY_RUN:-} ]]; then
    echo "$PY -m kcolor train $(printf '%q ' "$@")-o $(printf '%q' "$run")"
    echo "$PY tools/release/export_preset.py $(printf '%q' "$run") $(printf '%q' "$name")" \
         "--weights-dir $(printf '%q' "$EXPORT")"
    return 0
  fi
  { $PY -m kcolor train "$@" -o "$run" \
      && $PY tools/release/export_preset.py "$run" "$name" --weights-dir "$EXPORT"; } > "$run.log" 2>&1
}

if [[ -z ${DRY_RUN:-} ]]; then
  mkdir -p "$RUNS" "$EXPORT"
  # Scan once (grey photos dropped; cached in ~/.cache/kcolor) so the four runs skip it.
  $PY -c "import sys; from kcolor import training; \
print(len(training.find_colour_photos(sys.argv[1:])[0]), 'colour photos')" "${photos[@]}" || exit 1
fi
pids=()
launch() {  # in the background (in order, in the foreground with DRY_RUN)
  if [[ -n ${DRY_RUN:-} ]]; then "$@"; else "$@" & pids+=($!); fi
}
for p in ${PENALTIES:-0.5 2}; do
  launch train_and_export "$RUNS/beta-p$p" "beta-photos-p$p" --model beta \
      --data "${photos[@]}" "${common[@]}" --penalty "$p"
  launch train_and_export "$RUNS/fusion-p$p" "fusion-lite0-photos-p$p" --model fusion \
      --embedder efficientnet_lite0 ${cache[@]+"${cache[@]}"} \
      ${fusion_args[@]+"${fusion_args[@]}"} --data "${photos[@]}" "${common[@]}" --penalty "$p"
done
status=0
for pid in ${pids[@]+"${pids[@]}"}; do wait "$pid" || status=1; done
[[ -n ${DRY_RUN:-} ]] || tail -n 4 "$RUNS"/*.log
exit $status
