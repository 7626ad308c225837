#!/usr/bin/env bash
# The paper's w/ vs w/o energy-attention ablation, from scratch and small enough for a CPU
# (session 31). Two lanes side by side, one thread each: EA on and EA off (ea=false), seeds 0-2,
# otherwise scripts/ablation.sh's L1-only run (denoise, Gaussian σ=25, wf=16, 2400 steps × 8 × 64²).
# Resumes: a finished run is skipped, a half-finished one resumes from its checkpoint.
#   bash docs/training/ablation_ea/run.sh            # then:
#   python scripts/ablation_table.py runs/ablation_ea/summary.csv
set -u
cd "$(dirname "$0")/../../.."
OUT=${OUT:-runs/ablation_ea}
mkdir -p "$OUT"
lane() {
    for s in 0 1 2; do
        EA=$1 SEED=$s OUT=$OUT RUNS="none:0" bash scripts/ablation.sh || return 1
    done
}
lane 1 > "$OUT/lane_ea.log" 2>&1 &
lane 0 > "$OUT/lane_noea.log" 2>&1 &
wait
cat "$OUT/lane_ea.log" "$OUT/lane_noea.log"
