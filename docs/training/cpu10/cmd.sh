#!/bin/bash
# Session 10 CPU runs (no GPU lent). One thread each, niced.
# denoise-sat and denoise-noea-sat: session 9's pair (docs/training/cpu9/cmd.sh: the default
# camera-noise denoiser and its w/o-EA partner, sat_aug=3, lr 3e-5, 4 x 256^2, same data
# order) resumed from its step 500 with the total raised to 1500 steps, so the cosine
# restarts from about 2.6e-5 and ends at 1e-5 again. Session 9's last step missed its
# selection rule (docs/training/cpu9/README.txt) by 0.007 dB on camera noise and 0.14 dB on
# colour x3; the same rule picks from these snapshots (docs/training/cpu10/README.txt).
#   bash docs/training/cpu10/cmd.sh denoise-sat|denoise-noea-sat   (each resumes)
# derain-sat: the shipped derain file with sat_aug=3 alone (session 8-9's derain-aug used
# color_aug and scale_aug and fell 0.47 dB behind by step 600), lr 5e-5 (session 6's rate),
# 4 x 256^2, MIN minutes (they shape the cosine), a snapshot every 100 steps. Does saturation
# augmentation cost derain its validation PSNR, before a GPU call adds it (NEXT_GPU.txt)?
#   MIN=85 bash docs/training/cpu10/cmd.sh derain-sat   (resumes)
cd "$(dirname "$0")/../../.."
export OMP_NUM_THREADS=1
case "$1" in
  denoise-sat|denoise-noea-sat)
    name=${1%-sat}
    exec nice -n 10 .venv/bin/drcnet train --config configs/$name.yaml \
      --out runs/$1-cpu9 --device cpu --plain --max-minutes 0 --set steps=1500 \
      --set crop=256 --set batch_size=4 --set synth=cpu --set num_workers=0 \
      --set warmup_steps=50 --set val_every=300 --set val_minutes=60 --set ckpt_every=100 \
      --set ckpt_minutes=5 --set log_every=50 --set keep_every=100 --set val_seed=20 \
      --set init_weights=resources/weights/$name.safetensors --set lr=3e-5 --set sat_aug=3 ;;
  derain-sat)
    exec nice -n 10 .venv/bin/drcnet train --config configs/derain.yaml \
      --out runs/derain-sat-cpu10 --device cpu --plain --max-minutes "${MIN:-85}" \
      --set crop=256 --set batch_size=4 --set synth=cpu --set num_workers=0 \
      --set warmup_steps=50 --set val_every=300 --set val_minutes=60 --set ckpt_every=100 \
      --set ckpt_minutes=5 --set log_every=50 --set keep_every=100 --set val_seed=20 \
      --set init_weights=resources/weights/derain.safetensors --set lr=5e-5 --set sat_aug=3 ;;
  *) echo "usage: $0 denoise-sat|denoise-noea-sat|derain-sat" >&2; exit 2 ;;
esac
