#!/bin/bash
# Session 14 CPU runs (no GPU lent). One thread each, niced, side by side, same data order.
# Both fine-tune the shipped derain file with session 10's recipe (sat_aug=3, lr 5e-5,
# 4 x 256^2, MIN minutes shape the cosine), a snapshot every 200 steps:
#   derain-lf:   plus lowfreq=1 (an L1 on 16-px block means of both stages' outputs)
#   derain-ctrl: without it (the control)
#   MIN=100 bash docs/training/cpu14/cmd.sh derain-lf|derain-ctrl   (each resumes)
cd "$(dirname "$0")/../../.."
export OMP_NUM_THREADS=1
case "$1" in
  derain-lf) extra=(--set lowfreq=1 --set lowfreq_pool=16) ;;
  derain-ctrl) extra=() ;;
  *) echo "usage: $0 derain-lf|derain-ctrl" >&2; exit 2 ;;
esac
exec nice -n 10 .venv/bin/drcnet train --config configs/derain.yaml \
  --out "runs/$1-cpu14" --device cpu --plain --max-minutes "${MIN:-100}" \
  --set crop=256 --set batch_size=4 --set synth=cpu --set num_workers=0 \
  --set warmup_steps=50 --set val_every=600 --set val_minutes=60 --set ckpt_every=100 \
  --set ckpt_minutes=5 --set log_every=50 --set keep_every=200 --set val_seed=20 \
  --set init_weights=resources/weights/derain.safetensors --set lr=5e-5 --set sat_aug=3 \
  "${extra[@]}"
