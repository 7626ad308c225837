#!/bin/bash
# Session 11 CPU run: derain at wf=32, started from the shipped derain file widened by
# `drcnet widen` (same outputs as the wf=16 file at step 0), with session 10's recipe:
# sat_aug=3, lr 5e-5, 4 x 256^2, one thread, niced, a snapshot every 100 steps.
#   MIN=100 bash docs/training/cpu11/cmd.sh derain-wide   (resumes)
cd "$(dirname "$0")/../../.."
export OMP_NUM_THREADS=1
case "$1" in
  derain-wide)
    init=runs/derain-wf32-init.safetensors
    [ -f "$init" ] || .venv/bin/drcnet widen --task derain -o "$init" --seed 0 || exit 1
    exec nice -n 10 .venv/bin/drcnet train --config configs/derain.yaml \
      --out runs/derain-wide-cpu11 --device cpu --plain --max-minutes "${MIN:-100}" \
      --set wf=32 --set crop=256 --set batch_size=4 --set synth=cpu --set num_workers=0 \
      --set warmup_steps=50 --set val_every=300 --set val_minutes=60 --set ckpt_every=100 \
      --set ckpt_minutes=5 --set log_every=25 --set keep_every=100 --set val_seed=20 \
      --set init_weights="$init" --set lr=5e-5 --set sat_aug=3 ;;
  *) echo "usage: $0 derain-wide" >&2; exit 2 ;;
esac
