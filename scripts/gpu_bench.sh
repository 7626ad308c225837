#!/usr/bin/env bash
# Issue 5's CUDA figures in one go: `drcnet bench` for the shipped wf=16 models and an
# untrained paper-size wf=64 network, in fp32, fp16 and bf16 autocast, with and without
# channels_last, and torch.compile on the fastest eager setting. One JSON per run in $OUT,
# plus $OUT/summary.txt (one line per run).
#
# Usage (from the repository root). Not yet run on a GPU: its length there is unknown; the
# CPU smoke test (DEVICE=cpu QUICK=1 PRECS="fp32 bf16") takes about 2 minutes here.
#   OUT=out/gpu_bench bash scripts/gpu_bench.sh
# Environment:
#   OUT      output folder (default out/gpu_bench)
#   DEVICE   default cuda; DEVICE=cpu QUICK=1 PRECS="fp32 bf16" is its smoke test on a CPU
#   QUICK    1 = denoise only, no 12 MP restore, no wf=64, no compile
#   PRECS    precisions to run (default "fp32 fp16 bf16"; a CPU has no fast fp16: use
#            PRECS="fp32 bf16" there)
#   ONLY     run only these names (e.g. "wf16-fp32 wf64-bf16"), in the order of the matrix
#   RUN_S    seconds one run may take before it is stopped (default 0 = no limit)
#   BUDGET_S seconds after which no further run starts (default 0 = no limit)
#   PYTHON   interpreter (default .venv/bin/python if present, else python3)
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-out/gpu_bench}
DEVICE=${DEVICE:-cuda}
QUICK=${QUICK:-0}
PRECS=${PRECS:-fp32 fp16 bf16}
ONLY=${ONLY:-}
RUN_S=${RUN_S:-0}
BUDGET_S=${BUDGET_S:-0}
START=$(date +%s)
if [ -z "${PYTHON:-}" ]; then
    if [ -x .venv/bin/python ]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi
mkdir -p "$OUT"
SUMMARY=$OUT/summary.txt
: > "$SUMMARY"

bench() {  # name, then drcnet bench arguments
    local name=$1
    shift
    if [ -n "$ONLY" ] && [[ " $ONLY " != *" $name "* ]]; then return; fi
    if [ "$BUDGET_S" != 0 ] && [ $(( $(date +%s) - START )) -ge "$BUDGET_S" ]; then
        echo "$name | not run: the ${BUDGET_S}-s budget was spent" >> "$SUMMARY"; return
    fi
    echo "== $name: drcnet bench $* ($(( $(date +%s) - START )) s)"
    local limit=()
    [ "$RUN_S" != 0 ] && limit=(timeout -k 5 "$RUN_S")
    if ${limit[@]+"${limit[@]}"} "$PYTHON" -m drcnet.cli bench --device "$DEVICE" --json "$@" \
            > "$OUT/$name.json" 2> "$OUT/$name.err"; then
        "$PYTHON" - "$OUT/$name.json" "$name" >> "$SUMMARY" <<'PY'
import json, sys
path, name = sys.argv[1:]
for label, r in json.load(open(path)).items():
    full = (f"12MP {r['full_12mp_s']:.2f} s, peak {r['full_12mp_peak_mb']:.0f} MB, "
            f"overhead {r['tiling_overhead']:.2f}" if "full_12mp_s" in r else "no 12MP")
    comp = f", compile {r['compile_s']:.0f} s" if r.get("compiled") else ""
    print(f"{name} | {label} | drag {r['preview_ms']['median']:.1f} ms, "
          f"sharp {r['preview_sharp_ms']['median']:.1f} ms, forward {r['forward_ms']:.2f} ms, "
          f"{r['forward_gmacs_per_s']:.0f} GMAC/s = {100 * r['forward_vs_gemm_macs']:.0f}% of "
          f"fp32 GEMM/2 | {full}{comp}")
PY
    else
        local rc=$?
        if [ "$RUN_S" != 0 ] && { [ "$rc" = 124 ] || [ "$rc" = 137 ]; }; then
            echo "$name | STOPPED after ${RUN_S} s" >> "$SUMMARY"
        else
            echo "$name | FAILED (rc $rc): $(tail -n 1 "$OUT/$name.err")" >> "$SUMMARY"
        fi
    fi
}

TASKS="--task denoise --task derain --task deblur"
FULL=""
if [ "$QUICK" = 1 ]; then TASKS="--task denoise"; FULL="--no-full"; fi

for prec in $PRECS; do
    bench "wf16-$prec" $TASKS --precision "$prec" $FULL
    bench "wf16-$prec-cl" --task denoise --precision "$prec" --channels-last $FULL
done
if [ "$QUICK" != 1 ]; then
    for prec in $PRECS; do
        bench "wf64-$prec" --random-wf 64 --precision "$prec"
        bench "wf64-$prec-cl" --random-wf 64 --precision "$prec" --channels-last
    done
    bench "wf16-fp16-compile" --task denoise --precision fp16 --compile
    bench "wf64-fp16-compile" --random-wf 64 --precision fp16 --compile
fi
cat "$SUMMARY"
