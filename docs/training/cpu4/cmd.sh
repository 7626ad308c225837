#!/bin/bash
# Session 4 CPU fine-tune of the shipped denoise model (no GPU this session).
cd /work/main
exec .venv/bin/drcnet train --config configs/denoise.yaml --out runs/denoise-cpu4 --max-minutes 105 --device cpu --plain \
  --set init_weights=resources/weights/denoise.safetensors --set crop=256 --set batch_size=8 --set num_workers=1 \
  --set lr=1e-4 --set warmup_steps=100 --set val_every=1500 --set ckpt_every=100 --set ckpt_minutes=5 --set log_every=50 --set val_minutes=25 \
  --export runs/denoise-cpu4/final.safetensors
