#!/bin/bash
# Session 9 CPU runs (no GPU lent). One thread each, niced.
# derain-aug: session 8's augmented derain fine-tune (docs/training/cpu8/cmd.sh derain-aug:
# lr 5e-5, batch 4 x 256^2, color_aug=0.3, scale_aug=1.5, no ema) started again from the
# shipped file, since session 8's run directory did not survive to this checkout. Session 8's
# 40-minute run was level with the shipped file on data/heldout at step 900 and still rising;
# this one gets MIN minutes (the cosine is stretched to match).
# denoise-gaussian-sat: the shipped Gaussian denoiser fine-tuned with saturation augmentation
# (sat_aug=3: half the clean crops get a chroma gain log-uniform in [1, 3]), batch 4 x 256^2,
# lr 3e-5 (session 5's p3 rate). Why: it breaks on saturated colours (docs/eval/saturated/),
# and boosting the colour of ordinary validation photos 3x drops it from 32.27 to 25.25 dB on
# rubberwhale1 (docs/training/cpu9/sat_probe.txt); can it learn them without losing its 0.1 dB
# over CBM3D?
# denoise-sat and denoise-noea-sat: the same for the default (camera-noise) denoiser, which
# breaks worst on the sweets (34.13 dB in, 18.74 out), and for its w/o-EA partner, trained
# identically so the GUI's w/ vs w/o EA comparison stays fair: a fixed 500 steps each (not a
# time budget, so both get the same schedule), a snapshot every 100; started together on the
# core freed by stopping derain-aug at step 700 (0.47 dB behind the shipped derain on seeds
# 10-11 at step 600, like session 8's run).
#   MIN=120 bash docs/training/cpu9/cmd.sh derain-aug|denoise-gaussian-sat|denoise-sat|denoise-noea-sat
#   (each resumes)
cd "$(dirname "$0")/../../.."
export OMP_NUM_THREADS=1
MIN=${MIN:-120}  # minutes; they also shape the cosine schedule
common=(--device cpu --plain --max-minutes "$MIN" --set crop=256 --set batch_size=4
        --set synth=cpu --set num_workers=0 --set warmup_steps=50 --set val_every=300
        --set val_minutes=60 --set ckpt_every=100 --set ckpt_minutes=5 --set log_every=50
        --set keep_every=300 --set val_seed=20)
case "$1" in
  derain-aug)
    exec nice -n 10 .venv/bin/drcnet train --config configs/derain.yaml \
      --out runs/derain-aug-cpu9 "${common[@]}" \
      --set init_weights=resources/weights/derain.safetensors --set lr=5e-5 \
      --set color_aug=0.3 --set scale_aug=1.5 ;;
  denoise-gaussian-sat)
    exec nice -n 10 .venv/bin/drcnet train --config configs/denoise-gaussian.yaml \
      --out runs/denoise-gaussian-sat-cpu9 "${common[@]}" \
      --set init_weights=resources/weights/denoise-gaussian.safetensors --set lr=3e-5 \
      --set sat_aug=3 ;;
  denoise-sat|denoise-noea-sat)
    name=${1%-sat}
    exec nice -n 10 .venv/bin/drcnet train --config configs/$name.yaml \
      --out runs/$1-cpu9 "${common[@]}" --max-minutes 0 --set steps=500 --set keep_every=100 \
      --set init_weights=resources/weights/$name.safetensors --set lr=3e-5 \
      --set sat_aug=3 ;;
  *) echo "usage: $0 derain-aug|denoise-gaussian-sat|denoise-sat|denoise-noea-sat" >&2; exit 2 ;;
esac
