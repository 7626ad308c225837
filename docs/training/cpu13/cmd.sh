#!/bin/bash
# Session 13 CPU runs (no GPU lent). One thread each, niced, both at once.
# derain-384: the shipped derain file (session 10) fine-tuned on 384-px crops, batch 3, instead
# of 256-px crops, batch 4, with session 10's recipe otherwise (sat_aug=3, lr 5e-5, a snapshot
# every 100 steps). 384 px is 2.25x the area of a 256 crop; only the two training photos with a
# short side under 384 px are upscaled (512-px crops would upscale 13 of 25). The file then
# records crop 384, so `drcnet eval`, the GUI and pick_weights run it on 384-px tiles.
# derain-512: the same on 512-px crops, batch 2: the whole validation crop in one tile, at the
# cost of upscaling 13 of the 25 training photos (short side under 512 px, cubic, up to 1.5x).
# Question and selection rule: README.txt (written before the runs started).
#   MIN=90 bash docs/training/cpu13/cmd.sh derain-384|derain-512   (each resumes)
cd "$(dirname "$0")/../../.."
export OMP_NUM_THREADS=${THREADS:-1}
case "$1" in
  derain-384|derain-512)
    crop=${1#derain-}; batch=3; [ "$crop" = 512 ] && batch=2
    exec nice -n 10 .venv/bin/drcnet train --config configs/derain.yaml \
      --out runs/$1-cpu13 --device cpu --plain --max-minutes "${MIN:-90}" \
      --set crop=$crop --set batch_size=$batch --set synth=cpu --set num_workers=0 \
      --set warmup_steps=50 --set val_every=300 --set val_minutes=60 --set ckpt_every=100 \
      --set ckpt_minutes=5 --set log_every=25 --set keep_every=100 --set val_seed=20 \
      --set val_size=$crop --set val_draws=2 \
      --set init_weights=resources/weights/derain.safetensors --set lr=5e-5 --set sat_aug=3 ;;
  *) echo "usage: $0 derain-384|derain-512" >&2; exit 2 ;;
esac
