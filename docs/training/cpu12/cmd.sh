#!/bin/bash
# Session 12 CPU run (no GPU lent). One thread, niced.
# deblur-sat: the shipped deblur file (burst 5) with sat_aug=3 alone, the recipe that fixed
# derain's saturated-colour failure in session 10 (docs/training/cpu10/README.txt) and gained
# there on ordinary photos too: lr 5e-5, 4 x 256^2, MIN minutes (they shape the cosine), a
# snapshot every 100 steps. Deblur is the one shipped file never given saturation
# augmentation (docs/MODEL_CARD.md: 12.87 dB on saturated photos, peaks 111.5/255 over).
#   MIN=85 bash docs/training/cpu12/cmd.sh deblur-sat   (resumes)
# deblur-ctl: the same command without sat_aug, a control: is deblur-sat's loss on ordinary
# photos the augmentation's or this CPU regime's (batch 4, lr 5e-5)? Stopped after step 800.
#   MIN=85 bash docs/training/cpu12/cmd.sh deblur-ctl
cd "$(dirname "$0")/../../.."
export OMP_NUM_THREADS=1
case "$1" in
  deblur-sat|deblur-ctl)
    sat=3; [ "$1" = deblur-ctl ] && sat=1
    exec nice -n 10 .venv/bin/drcnet train --config configs/deblur.yaml \
      --out runs/$1-cpu12 --device cpu --plain --max-minutes "${MIN:-85}" \
      --set crop=256 --set batch_size=4 --set synth=cpu --set num_workers=0 \
      --set warmup_steps=50 --set val_every=300 --set val_minutes=60 --set ckpt_every=100 \
      --set ckpt_minutes=5 --set log_every=50 --set keep_every=100 --set val_seed=20 \
      --set init_weights=resources/weights/deblur.safetensors --set lr=5e-5 --set sat_aug=$sat ;;
  *) echo "usage: $0 deblur-sat|deblur-ctl" >&2; exit 2 ;;
esac
