#!/bin/bash
# Score snapshots of the session 29 gaussianm run (README.txt's rule): gaussian25u and gaussian25
# on data/corpus/val, seeds 10-12 (selection) or, with SEEDS=report, seeds 0-2.
#   bash docs/training/cpu29/score.sh resources/weights/denoise-gaussian.safetensors runs/denoise-gaussianm-cpu29/step000300.safetensors ...
DEGS="${DEGS:-gaussian25u gaussian25}" exec bash "$(dirname "$0")/score_pair.sh" "$@"
