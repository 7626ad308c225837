#!/usr/bin/env bash
# The contrastive-regularisation ablation of issue 3 item 8, small enough for a CPU.
#
#   Denoising at Gaussian σ=25, wf=16, depth=4, from scratch, the same seed and the same number
#   of steps for every run: L1 only, then L1 + Intra-CR and L1 + Extra-CR at each α in $ALPHAS.
#   Each run is then evaluated with `drcnet eval` on the validation split (gaussian25, seed 0,
#   512-px centre crops, 256-px tiles), and one line per run is appended to $OUT/summary.csv.
#   A run whose final weights exist is skipped, so the script resumes where it stopped
#   (a half-finished run resumes from its checkpoint, with a reseeded data order).
#   Validation runs only at the end (val_minutes=0), so final.safetensors is the step-STEPS
#   weights of every run. Until session 31 validation also ran every 1.5 minutes of the
#   clock and the export was the best-validated snapshot, at a step that depended on the
#   machine's load and differed between runs (docs/training/ablation_ea/README.txt).
#
# Usage (from the repository root, with data/corpus built by scripts/build_corpus.py):
#   OUT=runs/ablation STEPS=2400 bash scripts/ablation.sh
# Environment:
#   OUT      output folder (default runs/ablation)
#   STEPS    training steps per run (default 2400)
#   ALPHAS   CR weights (default "0.01 0.1 1")
#   THREADS  torch threads per run (default 1, so the machine stays usable)
#   SEED     training seed (default 0; other seeds name their runs <run>-s<SEED>)
#   RUNS     which runs, as cr:alpha pairs (default "none:0" then intra and extra at each α)
#   EA       1 (default) trains with energy attention; 0 trains with it bypassed (ea=false),
#            the paper's w/o-EA ablation, and names its runs <run>-noea
#   PYTHON   interpreter (default .venv/bin/python if present, else python3)
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-runs/ablation}
STEPS=${STEPS:-2400}
ALPHAS=${ALPHAS:-0.01 0.1 1}
THREADS=${THREADS:-1}
SEED=${SEED:-0}
EA=${EA:-1}
case "$EA" in
    1) ea_set=true ;;
    0) ea_set=false ;;
    *) echo "EA must be 1 or 0, not '$EA'" >&2; exit 2 ;;
esac
if [ -z "${PYTHON:-}" ]; then
    if [ -x .venv/bin/python ]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi
export OMP_NUM_THREADS=$THREADS
mkdir -p "$OUT"
SUMMARY=$OUT/summary.csv
[ -f "$SUMMARY" ] || echo "run,cr,alpha,steps,train_s,psnr,ssim,input_psnr" > "$SUMMARY"

runs="none:0"
for a in $ALPHAS; do runs="$runs intra:$a extra:$a"; done
runs=${RUNS:-$runs}

for spec in $runs; do
    cr=${spec%%:*}
    alpha=${spec##*:}
    name=$cr
    [ "$cr" = none ] || name=$cr-$alpha
    [ "$EA" = 1 ] || name=$name-noea
    [ "$SEED" = 0 ] || name=$name-s$SEED
    dir=$OUT/$name
    if grep -q "^$name," "$SUMMARY"; then
        echo "== $name: done already"
        continue
    fi
    echo "== $name: training $STEPS steps"
    start=$(date +%s)
    "$PYTHON" -m drcnet.cli train --config configs/denoise.yaml --out "$dir" --plain \
        --device cpu --max-minutes 0 \
        --set degradation=gaussian25 --set ea=$ea_set --set cr="$cr" --set cr_alpha="$alpha" \
        --set steps="$STEPS" --set crop=64 --set batch_size=8 --set synth=cpu \
        --set num_workers=0 --set warmup_steps=100 --set log_every=100 \
        --set val_every=1000000 --set val_minutes=0 --set ckpt_every=200 --set ckpt_minutes=2 \
        --set init_weights= --set seed="$SEED" >> "$dir.log" 2>&1 || { echo "$name: training failed, see $dir.log"; exit 1; }
    train_s=$(( $(date +%s) - start ))
    echo "== $name: evaluating"
    "$PYTHON" -m drcnet.cli eval --task denoise --data data/corpus/val --degradation gaussian25 \
        --weights "$dir/final.safetensors" --device cpu --tile 256 --plain --json "$dir/eval.json" \
        > /dev/null 2>> "$dir.log" || { echo "$name: eval failed, see $dir.log"; exit 1; }
    "$PYTHON" - "$dir/eval.json" "$name" "$cr" "$alpha" "$STEPS" "$train_s" >> "$SUMMARY" <<'EOF'
import json, sys
path, name, cr, alpha, steps, train_s = sys.argv[1:]
rows = {r["method"]: r for r in json.load(open(path))["rows"]}
net, inp = rows["DRCNet"], rows["input (degraded)"]
print(f"{name},{cr},{alpha},{steps},{train_s},{net['psnr_db']:.3f},{net['ssim']:.4f},"
      f"{inp['psnr_db']:.3f}")
EOF
done
echo "== all runs done: $SUMMARY"
