#!/bin/bash
# Rule step 2 (README.txt) for the pick of score.sh: fresh rain draws (seeds 30-35), the
# held-out photos (seeds 10-11) and saturated colours, against the shipped file; then, outside
# the rule, the kite photo at three tile sizes (docs/eval/whole_image/kite.sh).
#   bash docs/training/cpu14/confirm.sh PICK > docs/training/cpu14/confirm.txt
cd "$(dirname "$0")/../../.."
pick=$1
export OMP_NUM_THREADS=1
py=.venv/bin/python
{ echo "\$ python scripts/pick_weights.py --task derain --seed 30 --draws 6 $pick"
  $py scripts/pick_weights.py --task derain --seed 30 --draws 6 "$pick"; } > /tmp/c14_fresh.txt &
{ echo "\$ python scripts/pick_weights.py --task derain --data data/heldout --seed 10 --draws 2 $pick"
  $py scripts/pick_weights.py --task derain --data data/heldout --seed 10 --draws 2 "$pick"; } > /tmp/c14_held.txt &
wait
cat /tmp/c14_fresh.txt; echo; cat /tmp/c14_held.txt; echo
echo "\$ python docs/training/cpu10/sat_worst.py --task derain shipped $pick --sat 3 5 --seeds 10 11 12"
$py docs/training/cpu10/sat_worst.py --task derain shipped "$pick" --sat 3 5 --seeds 10 11 12 &
{ echo; echo "# outside the rule: bash docs/eval/whole_image/kite.sh $pick"
  bash docs/eval/whole_image/kite.sh "$pick"; } > /tmp/c14_kite.txt &
wait
cat /tmp/c14_kite.txt
