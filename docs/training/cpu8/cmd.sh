#!/bin/bash
# Session 8 CPU fine-tune of the shipped derain file with an exponential moving average of the
# weights (ema=0.999, a horizon of about 1000 steps). Otherwise session 7's L1 control
# (docs/training/cpu7/cmd.sh derain-l1): 256-px crops, batch 4, lr 5e-5, training-time
# validation on rain seeds 20-23, a snapshot every 300 steps (of the averaged weights).
# Why: every fine-tune so far swung by up to 1 dB between snapshots a few hundred steps apart
# (cpu7), and burst 5's training-time validation by 0.9 dB between steps 987 and 1000
# (docs/training/burst5/); the average is the standard cure for that step-to-step noise.
# derain-lr2e-5 (started 30 minutes later on the second core, MIN=80): the same at lr 2e-5, to
# see whether a smaller step shrinks the early dip that every fine-tune of the shipped file
# has shown (a fresh Adam: session 7 lost up to 0.9 dB in its first 300 steps).
# derain-aug (started when derain-lr2e-5 was stopped at step 1100, MIN=40): the config's recipe
# (no ema) with colour and scale augmentation, color_aug=0.3, scale_aug=1.5, after every
# shipped model broke on a photo of saturated sweets (docs/eval/saturated/): do gains that push
# colours towards the gamut edge fix it, and at what cost on the validation photos?
#   bash docs/training/cpu8/cmd.sh derain|derain-lr2e-5|derain-aug   (MIN=minutes; resumes)
cd "$(dirname "$0")/../../.."
export OMP_NUM_THREADS=1
MIN=${MIN:-100}  # minutes; they also shape the cosine schedule
common=(--device cpu --plain --max-minutes "$MIN" --set crop=256 --set batch_size=4
        --set synth=cpu --set num_workers=0 --set warmup_steps=50 --set val_every=300
        --set val_minutes=60 --set ckpt_every=100 --set ckpt_minutes=5 --set log_every=50
        --set keep_every=300 --set val_seed=20)
case "$1" in
  derain)
    exec nice -n 10 .venv/bin/drcnet train --config configs/derain.yaml \
      --out runs/derain-ema-cpu8 "${common[@]}" \
      --set init_weights=resources/weights/derain.safetensors --set lr=5e-5 --set ema=0.999 ;;
  derain-lr2e-5)
    exec nice -n 10 .venv/bin/drcnet train --config configs/derain.yaml \
      --out runs/derain-ema-lr2e-5-cpu8 "${common[@]}" \
      --set init_weights=resources/weights/derain.safetensors --set lr=2e-5 --set ema=0.999 ;;
  derain-aug)
    exec nice -n 10 .venv/bin/drcnet train --config configs/derain.yaml \
      --out runs/derain-aug-cpu8 "${common[@]}" \
      --set init_weights=resources/weights/derain.safetensors --set lr=5e-5 \
      --set color_aug=0.3 --set scale_aug=1.5 ;;
  *) echo "usage: $0 derain|derain-lr2e-5|derain-aug" >&2; exit 2 ;;
esac
