#!/bin/bash
# Session 30 CPU run (no GPU lent). The shipped deblur file (burst 5) trained on camera shake
# applied to sRGB values; `blurlin` blurs in linear light, as a sensor integrates light, so
# highlights smear into bright streaks. This fine-tunes it on `blurlin`, nothing else changed
# (no sat_aug, as the shipped file; session 12's control run, docs/training/cpu12/, is the same
# command on `blur`): 1200 steps x 4 x 256^2, lr 5e-5 cosine to 1e-5, one thread, niced, a
# snapshot every 200 steps. The selection rule is in README.txt.
#   bash docs/training/cpu30/cmd.sh      (resumes)
cd "$(dirname "$0")/../../.."
export OMP_NUM_THREADS=${THREADS:-1}
exec nice -n 10 .venv/bin/drcnet train --config configs/deblur.yaml \
  --out runs/deblur-blurlin-cpu30 --device cpu --plain --max-minutes 0 --set steps=1200 \
  --set crop=256 --set batch_size=4 --set synth=cpu --set num_workers=0 \
  --set warmup_steps=50 --set val_every=100000 --set val_minutes=1000 --set ckpt_every=100 \
  --set ckpt_minutes=5 --set log_every=50 --set keep_every=200 \
  --set init_weights=resources/weights/deblur.safetensors --set lr=5e-5 --set min_lr=1e-5 \
  --set degradation=blurlin
