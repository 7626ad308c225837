#!/bin/bash
# Session 6 CPU fine-tune (after the GPU burst), one thread, niced so evaluation beside it stays
# responsive:
#   derain: burst 4's derain weights, fine-tuned at 256-px crops (the inference tile size; a
#           128-px CPU fine-tune in session 5 got worse at both tile sizes), batch 4, lr 5e-5,
#           the schedule that improved the Gaussian denoiser in session 5's phase 2.
#   derain-delta: the same with energy attention's δ = 1e-2 in training (the derain sweep found
#           δ = 1e-2 at inference 0.17-0.27 dB better than the trained 1e-6), started 20 minutes
#           later beside it on the second core, MIN=65 so both end together; derain is its control
#   bash docs/training/cpu6/cmd.sh derain|derain-delta   (MIN=minutes, default 90; resumes)
cd "$(dirname "$0")/../../.."
export OMP_NUM_THREADS=1
MIN=${MIN:-90}  # minutes; they also shape the cosine schedule
common=(--device cpu --plain --max-minutes "$MIN" --set crop=256 --set batch_size=4
        --set synth=cpu --set num_workers=0 --set warmup_steps=50 --set val_every=300
        --set val_minutes=30 --set ckpt_every=100 --set ckpt_minutes=5 --set log_every=50)
case "$1" in
  derain)
    exec nice -n 10 .venv/bin/drcnet train --config configs/derain.yaml --out runs/derain-cpu6 \
      "${common[@]}" --set init_weights=resources/weights/derain.safetensors --set lr=5e-5 ;;
  derain-delta)
    exec nice -n 10 .venv/bin/drcnet train --config configs/derain.yaml --out runs/derain-delta-cpu6 \
      "${common[@]}" --set init_weights=resources/weights/derain.safetensors --set lr=5e-5 \
      --set delta=1e-2 ;;
  *) echo "usage: $0 derain|derain-delta" >&2; exit 2 ;;
esac
