#!/bin/bash
# Session 35 CPU runs: the Gaussian denoiser and a w/o-EA partner for it, fine-tuned side by
# side from the shipped denoise-gaussian.safetensors on its own last recipe (session 9's:
# gaussian, sat_aug=3, lr 3e-5), one with energy attention on and one with it bypassed. The
# same fixed schedule for both (500 steps x 4 x 256^2, cosine to 1e-5, the same data seed),
# a snapshot every 100 steps, so the pair differs only in EA over its last 500 steps, as the
# default pair does (burst 3). The selection rule is in README.txt.
#   bash docs/training/cpu35/pair.sh ea|noea      (resumes)
cd "$(dirname "$0")/../../.."
export OMP_NUM_THREADS=1
case "$1" in
  ea) extra=() ;;
  noea) extra=(--set variant=noea --set ea=false) ;;
  *) echo "usage: $0 ea|noea" >&2; exit 2 ;;
esac
exec nice -n 10 .venv/bin/drcnet train --config configs/denoise-gaussian.yaml \
  --out "runs/denoise-gaussian-$1-cpu35" "${extra[@]}" \
  --device cpu --plain --max-minutes 0 --set steps=500 \
  --set crop=256 --set batch_size=4 --set synth=cpu --set num_workers=0 \
  --set warmup_steps=50 --set val_every=100000 --set val_minutes=1000 --set ckpt_every=100 \
  --set ckpt_minutes=5 --set log_every=50 --set keep_every=100 --set sat_aug=3 \
  --set init_weights=resources/weights/denoise-gaussian.safetensors --set lr=3e-5 \
  --set min_lr=1e-5
