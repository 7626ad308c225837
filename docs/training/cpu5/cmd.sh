#!/bin/bash
# Session 5 CPU fine-tunes (no GPU this session): one process per model, one thread each,
# niced so evaluation beside them stays responsive.
#   denoise-gaussian: the shipped denoise weights fine-tuned on blind Gaussian noise σ ∈ [0, 55]
#   derain: the shipped derain weights fine-tuned on the same rain recipe (stopped at step
#           ~500: 27.41 dB at 256-px tiles against the shipped 28.13, 27.09 at 128 px)
#   denoise-gaussian-256: as denoise-gaussian, but 256-px crops (the inference tile size),
#           batch 4, lr 1e-4 (stopped at step ~350: 31.39 dB at σ=25, the shipped model 31.34)
#   denoise-gaussian-p2: phase 2 of denoise-gaussian, from its weights at step 1300 (copied to
#           p1.safetensors), at 256-px crops: training at 128 px had tuned the network to
#           128-px tiles; lr 5e-5, 60 minutes
#   denoise-gaussian-p2b: the same phase 2 at lr 1e-4, 55 minutes, on the core freed by stopping
#           denoise-gaussian at step ~1420 (its 128-px run had gained 0.08 dB in its last 900 steps)
#   denoise-gaussian-p3: from the shipped denoise-gaussian weights, batch 8 × 256², lr 3e-5, both
#           cores, started at the end of session 5 to see whether a larger batch moves past the
#           plateau (not shipped; runs/denoise-gaussian-p3-cpu5, resumable)
cd "$(dirname "$0")/../../.."
export OMP_NUM_THREADS=1
MIN=${MIN:-100}  # minutes; they also shape the cosine schedule
common=(--device cpu --plain --max-minutes "$MIN" --set crop=128 --set batch_size=8
        --set synth=cpu --set num_workers=0 --set warmup_steps=100 --set val_every=300
        --set val_minutes=30 --set ckpt_every=100 --set ckpt_minutes=5 --set log_every=50)
case "$1" in
  denoise-gaussian)
    exec nice -n 10 .venv/bin/drcnet train --config configs/denoise-gaussian.yaml --out runs/denoise-gaussian-cpu5 \
      "${common[@]}" --set init_weights=resources/weights/denoise.safetensors --set lr=2e-4 ;;
  derain)
    exec nice -n 10 .venv/bin/drcnet train --config configs/derain.yaml --out runs/derain-cpu5 \
      "${common[@]}" --set init_weights=resources/weights/derain.safetensors --set lr=1e-4 ;;
  denoise-gaussian-256)
    exec nice -n 10 .venv/bin/drcnet train --config configs/denoise-gaussian.yaml --out runs/denoise-gaussian-256-cpu5 \
      "${common[@]}" --set crop=256 --set batch_size=4 \
      --set init_weights=resources/weights/denoise.safetensors --set lr=1e-4 ;;
  denoise-gaussian-p2)
    exec nice -n 10 .venv/bin/drcnet train --config configs/denoise-gaussian.yaml --out runs/denoise-gaussian-p2-cpu5 \
      "${common[@]}" --set crop=256 --set batch_size=4 \
      --set init_weights=runs/denoise-gaussian-cpu5/p1.safetensors --set lr=5e-5 --set warmup_steps=50 ;;
  denoise-gaussian-p2b)
    exec nice -n 10 .venv/bin/drcnet train --config configs/denoise-gaussian.yaml --out runs/denoise-gaussian-p2b-cpu5 \
      "${common[@]}" --set crop=256 --set batch_size=4 \
      --set init_weights=runs/denoise-gaussian-cpu5/p1.safetensors --set lr=1e-4 --set warmup_steps=50 ;;
  denoise-gaussian-p3)
    export OMP_NUM_THREADS=2
    exec nice -n 10 .venv/bin/drcnet train --config configs/denoise-gaussian.yaml --out runs/denoise-gaussian-p3-cpu5 \
      "${common[@]}" --set crop=256 --set batch_size=8 \
      --set init_weights=resources/weights/denoise-gaussian.safetensors --set lr=3e-5 --set warmup_steps=50 ;;
  *) echo "usage: $0 denoise-gaussian|denoise-gaussian-256|denoise-gaussian-p2|denoise-gaussian-p2b|denoise-gaussian-p3|derain" >&2; exit 2 ;;
esac
