#!/bin/bash
# Score the pair's snapshots (README.txt's rule) on gaussian25 of data/corpus/val, CPU fp32,
# 256-px tiles, one thread. Prints one line per file: its name and the network's mean PSNR
# (to 4 decimals, as the rule's 0.02 dB bar needs more than the table's 2) and SSIM.
#   bash docs/training/cpu35/score.sh SEED DRAWS FILE...   (FILE: a snapshot, or "shipped")
#   e.g. bash docs/training/cpu35/score.sh 10 3 shipped runs/denoise-gaussian-*-cpu35/step000100.safetensors
# DATA=data/heldout for the held-out photos.
cd "$(dirname "$0")/../../.."
export OMP_NUM_THREADS=1
seed=$1 draws=$2; shift 2
data=${DATA:-data/corpus/val}
for f in "$@"; do
  if [ "$f" = shipped ]; then w=(--variant gaussian); else w=(--weights "$f"); fi
  row=$(.venv/bin/drcnet eval --task denoise "${w[@]}" --data "$data" --degradation gaussian25 \
        --seed "$seed" --draws "$draws" --plain --json - 2>/dev/null | .venv/bin/python -c "
import json, sys
r = [r for r in json.load(sys.stdin)['rows'] if r['method'] == 'DRCNet'][0]
print(f\"DRCNet {r['psnr_db']:.4f} dB / {r['ssim']:.4f}\")")
  echo "$f seed $seed draws $draws $data: $row"
done
