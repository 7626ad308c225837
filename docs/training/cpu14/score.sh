#!/bin/bash
# Rule step 1 (README.txt): every derain-lf snapshot and its last step against the shipped file
# on rain seeds 10-15; then, for the question, every snapshot of both runs by the error
# analysis's summary (PSNR, PSNR without the mean colour error, mean error in 8-bit levels).
#   bash docs/training/cpu14/score.sh > docs/training/cpu14/selection.txt
cd "$(dirname "$0")/../../.."
export OMP_NUM_THREADS=1
py=.venv/bin/python
snaps() {  # a run's snapshots, then last.safetensors unless a snapshot holds its step
  $py - "$1" <<'PY'
import sys
from pathlib import Path
from drcnet.weights import read_metadata
run = Path(sys.argv[1])
snaps = sorted(run.glob("step*.safetensors"))
for s in snaps:
    print(s)
last = run / "last.safetensors"
if last.is_file() and (not snaps or read_metadata(last)["step"] != read_metadata(snaps[-1])["step"]):
    print(last)
PY
}
mapfile -t lf < <(snaps runs/derain-lf-cpu14)
mapfile -t ctrl < <(snaps runs/derain-ctrl-cpu14)
# Three jobs on two cores: the pick, then the two runs' summaries.
{ echo "\$ python scripts/pick_weights.py --task derain --seed 10 --draws 6 ${lf[*]}"
  $py scripts/pick_weights.py --task derain --seed 10 --draws 6 "${lf[@]}"; } > /tmp/c14_pick.txt &
{ echo "\$ python scripts/derain_error_analysis.py --seed 10 --draws 6 --brief shipped ${ctrl[*]}"
  $py scripts/derain_error_analysis.py --seed 10 --draws 6 --brief shipped "${ctrl[@]}"; } \
  > /tmp/c14_ctrl.txt &
wait -n
{ echo "\$ python scripts/derain_error_analysis.py --seed 10 --draws 6 --brief ${lf[*]}"
  $py scripts/derain_error_analysis.py --seed 10 --draws 6 --brief "${lf[@]}"; } > /tmp/c14_lf.txt
wait
cat /tmp/c14_pick.txt; echo; cat /tmp/c14_ctrl.txt; echo; cat /tmp/c14_lf.txt
