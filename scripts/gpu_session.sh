#!/usr/bin/env bash
# One GPU lease, used in one call: issue 5's CUDA benchmark (a subset of gpu_bench.sh's
# matrix, capped in time), then a training burst of the four shipped models
# (gpu_burst.sh), with the results packed into a few files in $OUT for the trip back.
#
# Usage (from the repository root, with data/corpus built by scripts/build_corpus.py):
#   OUT=/path BENCH_S=150 MINUTES=5.5 bash scripts/gpu_session.sh
# Environment (besides gpu_bench.sh's and gpu_burst.sh's own):
#   OUT        where the packed results go (default out/session): bench.tar.gz,
#              burst.tar.gz (logs, CSVs, summary), weights.tar (fp16 weights), session.log,
#              and snapshots_<name>.tar for each model that keeps some (keep_every=N in
#              MODEL_SETS/SETS)
#   BENCH_S    seconds after which no further benchmark run starts (default 150)
#   BENCH_ONLY the benchmark runs, in gpu_bench.sh's names (default below)
#   MINUTES    training minutes per model (default 5.5)
#   SKIP_BENCH / SKIP_BURST  1 skips that part
#   PICK_TOP   K > 0: rank each model's keep_every snapshots here, on held-out draws (degradation
#              seeds PICK_SEED.., default 10, PICK_DRAWS of them, default 6, on PICK_DEVICE,
#              default cuda), and bring back only the K best (default 0: all of them);
#              PICK_DEGRADATION the recipe to rank on (default: the model's own; a model
#              trained on another, such as gaussianu, must say so)
#   SNAPSHOT_S every this many seconds during the burst, $OUT/partial.tar gets each model's
#              newest fp16 step snapshot (keep_every; else its fp32 best and last, which at
#              wf=32 pass the 16 MiB a file can bring back) and the logs, so a call cut off at
#              its limit still brings something back (default 45; 0 turns it off)
# The CPU smoke test (about 3 minutes here):
#   OUT=/tmp/s DEVICE=cpu PRECS="fp32 bf16" BENCH_ONLY="wf16-fp32" BENCH_S=60 MINUTES=0.3 \
#     SETS="wf=8 depth=3 batch_size=2 crop=64 device=cpu synth=cpu init_weights=" \
#     INIT_MAP= COMPILE= GRACE=60 bash scripts/gpu_session.sh
set -u
cd "$(dirname "$0")/.."
ROOT=$(pwd)
OUT=${OUT:-out/session}
OUT=$(mkdir -p "$OUT" && cd "$OUT" && pwd)
WORK=$(mktemp -d)
BENCH_S=${BENCH_S:-150}
BENCH_ONLY=${BENCH_ONLY:-"wf16-fp32 wf16-fp16 wf16-fp16-cl wf16-bf16 wf64-fp32 wf64-fp16 \
wf64-fp16-cl wf64-bf16 wf64-fp16-compile"}
export PYTHON=${PYTHON:-python3}
case "$PYTHON" in  # a relative path (.venv/bin/python) must survive the cd's below
  /*) ;;
  */*) PYTHON=$ROOT/$PYTHON ;;
esac
export PYTHONUNBUFFERED=1
export MINUTES=${MINUTES:-5.5}
export CROP=${CROP:-256}
export BATCH=${BATCH:-24}
export INIT_MAP=${INIT_MAP-"denoise-noea=resources/weights/denoise.safetensors"}
export COMPILE=${COMPILE-"denoise denoise-noea"}
export GRACE=${GRACE:-30}
exec > >(tee "$OUT/session.log") 2>&1
TEE=$!

echo "== session $(date -u +%FT%TZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo ?)"
"$PYTHON" -c "import torch, cv2, yaml, safetensors, tqdm; print('torch', torch.__version__, \
'cuda', torch.cuda.is_available())" || { echo "environment check failed"; exit 3; }
echo "host cores: $(nproc --all)"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total \
  --format=csv,noheader

if [ "${SKIP_BENCH:-0}" != 1 ]; then
  echo "== benchmark (runs start within ${BENCH_S} s)"
  T0=$(date +%s)
  OUT=$WORK/bench ONLY=$BENCH_ONLY RUN_S=${RUN_S:-60} BUDGET_S=$BENCH_S bash scripts/gpu_bench.sh
  echo "benchmark took $(( $(date +%s) - T0 )) s"
  tar -czf "$OUT/bench.tar.gz" -C "$WORK" bench
fi

if [ "${SKIP_BURST:-0}" != 1 ]; then
  echo "== training burst, ${MINUTES} min per model, crop ${CROP}, batch ${BATCH}"
  SNAP=""
  if [ "${SNAPSHOT_S:-45}" != 0 ]; then
    ( while sleep "${SNAPSHOT_S:-45}"; do
        (cd "$WORK" && files=() && for d in burst/*/; do
           newest=$(ls -1 "$d"step*.safetensors 2>/dev/null | sort | tail -n 1)
           if [ -n "$newest" ]; then files+=("$newest")
           else files+=("${d}best.safetensors" "${d}last.safetensors"); fi
         done && tar -cf "$OUT/.partial.tmp" --ignore-failed-read "${files[@]}" \
           burst/*/log.csv burst/*/train.log 2>/dev/null) \
          && mv -f "$OUT/.partial.tmp" "$OUT/partial.tar"
      done ) >/dev/null 2>&1 &  # not on the log's pipe: tee must see EOF at the end
    SNAP=$!
  fi
  OUT=$WORK/burst bash scripts/gpu_burst.sh
  echo "burst exited with $?"
  [ -n "$SNAP" ] && { pkill -P "$SNAP" 2>/dev/null; kill "$SNAP" 2>/dev/null; }
  rm -f "$OUT/partial.tar" "$OUT/.partial.tmp"
  tar -cf "$OUT/weights.tar" -C "$WORK/burst" weights
  (cd "$WORK/burst" && tar -czf "$OUT/burst.tar.gz" summary.txt */train.log */log.csv)
  # keep_every snapshots (step<N>.safetensors, fp16: 2.4 MB at wf=16), to pick among on
  # held-out draws back home; files over 16 MiB do not come back from a lent machine, so each
  # model's go in a tar of their own (snapshots_<name>.tar). With PICK_TOP=K they are first
  # ranked here (scripts/pick_weights.py on the GPU, with the exported file and the shipped
  # one beside them) and only the K best travel, with scores.json; until the ranking is done
  # (or if it fails) the tar holds the K newest.
  for d in "$WORK"/burst/*/; do
    name=$(basename "$d")
    snaps=$(cd "$WORK" && ls burst/"$name"/step*.safetensors 2>/dev/null)
    [ -z "$snaps" ] && continue
    if [ "${PICK_TOP:-0}" -le 0 ]; then
      (cd "$WORK" && tar -cf "$OUT/snapshots_$name.tar" $snaps)
      continue
    fi
    (cd "$WORK" && tar -cf "$OUT/snapshots_$name.tar" $(echo "$snaps" | tail -n "$PICK_TOP"))
    newest=$(echo "$snaps" | tail -n 1)
    read -r task variant < <("$PYTHON" -c "import sys; from drcnet.weights import \
read_metadata as r; m = r(sys.argv[1]); print(m.get('task'), m.get('variant', 'default'))" \
      "$WORK/$newest")
    echo "== ranking $name's snapshots ($task, $variant) on seeds ${PICK_SEED:-10}.. x ${PICK_DRAWS:-6}"
    T0=$(date +%s)
    exported=()
    [ -f "$WORK/burst/weights/$name.safetensors" ] && exported=("burst/weights/$name.safetensors")
    # shellcheck disable=SC2086  # $snaps: one path per word, none with spaces
    if (cd "$WORK" && PYTHONPATH="$ROOT" "$PYTHON" "$ROOT/scripts/pick_weights.py" \
          --task "$task" --variant "$variant" --data "$ROOT/data/corpus/val" \
          ${PICK_DEGRADATION:+--degradation "$PICK_DEGRADATION"} \
          --seed "${PICK_SEED:-10}" --draws "${PICK_DRAWS:-6}" --device "${PICK_DEVICE:-cuda}" \
          --keep-top "$PICK_TOP" --keep-dir "top/burst/$name" $snaps "${exported[@]}"); then
      tar -cf "$OUT/snapshots_$name.tar" -C "$WORK/top" "burst/$name"
    else
      echo "ranking failed: snapshots_$name.tar holds the $PICK_TOP newest snapshots instead"
    fi
    echo "ranking took $(( $(date +%s) - T0 )) s"
  done
fi
echo "== done $(date -u +%FT%TZ)"
ls -la "$OUT"
exec >&- 2>&-
wait "$TEE" 2>/dev/null || true  # session.log complete before the call returns
