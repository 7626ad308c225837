#!/bin/bash
# Session 6, after the CPU fine-tunes (cmd.sh): pick the derain file on rain draws that no
# figure reports (seeds 10-15), then export it and measure it on the reported ones.
#   bash docs/training/cpu6/finish.sh CANDIDATE...    (weight files; the shipped one is always in)
# Writes docs/eval/derain_cpu6_selection.txt; if a candidate beats the shipped file there, it is
# exported (fp16, with its history) to resources/weights/derain.safetensors and measured into
# docs/eval/derain_cpu6.txt.
set -eu
cd "$(dirname "$0")/../../.."
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
cp resources/weights/derain.safetensors /tmp/derain_shipped.safetensors
sel=docs/eval/derain_cpu6_selection.txt
echo "# selection: drcnet eval --task derain --weights W --data data/corpus/val --degradation rain --seed 10 --draws 6" > $sel
best=/tmp/derain_shipped.safetensors
best_psnr=$(.venv/bin/drcnet eval --task derain --weights $best --data data/corpus/val --degradation rain \
  --seed 10 --draws 6 --plain 2>/dev/null | awk '/^DRCNet/ {print $2}')
echo "shipped (burst 4): $best_psnr" | tee -a $sel
for w in "$@"; do
  p=$(.venv/bin/drcnet eval --task derain --weights "$w" --data data/corpus/val --degradation rain \
    --seed 10 --draws 6 --plain 2>/dev/null | awk '/^DRCNet/ {print $2}')
  echo "$w: $p" | tee -a $sel
  if .venv/bin/python -c "import sys; sys.exit(0 if float('$p') > float('$best_psnr') else 1)"; then
    best=$w; best_psnr=$p
  fi
done
echo "picked: $best ($best_psnr dB)" | tee -a $sel
[ "$best" = /tmp/derain_shipped.safetensors ] && exit 0
.venv/bin/python - "$best" <<'PY'
import sys
from drcnet.weights import build_model, read_metadata, save_weights
src, dst = sys.argv[1], "resources/weights/derain.safetensors"
meta = {k: v for k, v in read_metadata(src).items() if k not in ("config", "format")}
meta["history"] = ("bursts 1-4 on an H100 (docs/MODEL_CARD.md), then session 6 on this CPU: "
                   f"{meta.get('step')} steps x 4 x 256^2 at lr 5e-5 from burst 4's weights "
                   "(docs/training/cpu6/cmd.sh), picked on rain seeds 10-15")
save_weights(dst, build_model(src), meta, half=True)
print("wrote", dst, "from", src, "step", meta.get("step"))
PY
out=docs/eval/derain_cpu6.txt
: > $out
ev() {
  local cmd="drcnet eval --task derain --data data/corpus/val --degradation rain $*"
  echo "\$ $cmd" >> $out
  .venv/bin/$cmd --plain 2>&1 | grep -v "step [0-9]*/" | tail -n 2 >> $out
  tail -n 1 $out
}
ev --seed 0
ev --seed 0 --draws 6
ev --seed 0 --ensemble
ev --seed 0 --tile 0
ev --seed 0 --tile 128
