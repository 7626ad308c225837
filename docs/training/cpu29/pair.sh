#!/bin/bash
# Session 29 CPU runs: the default (camera-noise) denoiser and its w/o-EA partner fine-tuned on
# the camera-noise recipe with read noise tied to shot noise (read_for_shot), as a pair: the
# same fixed schedule for both, so the GUI's w/ vs w/o EA comparison stays fair. Nothing else
# changes (no sat_aug). 600 steps × 4 × 256², lr 5e-5 cosine to 1e-5, one thread each, a
# snapshot every 200 steps. The selection rule is in README.txt.
#   bash docs/training/cpu29/pair.sh denoise|denoise-noea      (resumes)
cd "$(dirname "$0")/../../.."
export OMP_NUM_THREADS=1
case "$1" in
  denoise|denoise-noea) ;;
  *) echo "usage: $0 denoise|denoise-noea" >&2; exit 2 ;;
esac
exec .venv/bin/drcnet train --config "configs/$1.yaml" --out "runs/$1-tied-cpu29" \
  --device cpu --plain --max-minutes 0 --set steps=600 \
  --set crop=256 --set batch_size=4 --set synth=cpu --set num_workers=0 \
  --set warmup_steps=50 --set val_every=100000 --set val_minutes=1000 --set ckpt_every=100 \
  --set ckpt_minutes=5 --set log_every=50 --set keep_every=200 \
  --set "init_weights=resources/weights/$1.safetensors" --set lr=5e-5 --set min_lr=1e-5
