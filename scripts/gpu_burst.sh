#!/usr/bin/env bash
# Train the four shipped models at once on one GPU, within a wall-time budget.
#
#   derain, denoise, deblur (wf=16, depth=4) and denoise-noea (energy attention bypassed),
#   each for $MINUTES minutes, as four concurrent processes. Training pairs are made on the GPU
#   (synth=auto -> gpu on CUDA), so the host's cores are not the limit; a model whose weights
#   exist in $INIT starts from them (burst 2: derain/denoise/deblur from resources/weights,
#   denoise-noea from scratch; burst 3: denoise-noea from denoise's weights via INIT_MAP).
#
# Usage (from the repository root, with data/corpus built by scripts/build_corpus.py):
#   OUT=out/burst MINUTES=4.5 GRACE=40 bash scripts/gpu_burst.sh
# Environment:
#   OUT      output folder (default out/burst): $OUT/<name>/{train.log,log.csv,last,best,state}
#            and the final fp16 weights in $OUT/weights/<name>.safetensors
#   MINUTES  training budget per model in minutes (default 4.5); start-up and the final
#            validation/export come on top (about 20-40 s)
#   BATCH    batch size (default 32)
#   CROP     training crop side (default 192: closer to whole-image inference than 128)
#   LR       peak learning rate (default: the config's, 1e-3)
#   SYNTH    where pairs are made: auto (gpu on CUDA), gpu or cpu (default auto)
#   WORKERS  DataLoader workers per model when pairs are made on the CPU (default 1)
#   INIT     folder of weights to start from, <name>.safetensors (default resources/weights;
#            INIT= starts every model from scratch)
#   PYTHON   interpreter (default python3)
#   MODELS   which configs to train (default "derain denoise deblur denoise-noea")
#   INIT_MAP per-model starting weights, "name=path ..." (overrides INIT for those models;
#            burst 3: "denoise-noea=resources/weights/denoise.safetensors")
#   COMPILE  models trained with torch.compile (compile=true; a model whose compile fails
#            trains eagerly and says so in its log), e.g. "denoise denoise-noea"
#   SETS     extra "key=value" config overrides for all models, space separated, applied
#            last (the CPU smoke test uses SETS="wf=8 depth=3 batch_size=4 crop=64
#            device=cpu init_weights=")
#   MODEL_SETS per-model overrides, "name:key=value ..." (applied after SETS; session 6:
#            "derain:lr=5e-4 denoise-gaussian:lr=2e-4")
#   GRACE    extra seconds before a straggler is interrupted (default 60)
set -u
cd "$(dirname "$0")/.."
ROOT=$(pwd)
OUT=${OUT:-out/burst}
MINUTES=${MINUTES:-4.5}
BATCH=${BATCH:-32}
CROP=${CROP:-192}
LR=${LR:-}
SYNTH=${SYNTH:-auto}
WORKERS=${WORKERS:-1}
INIT=${INIT-resources/weights}
PYTHON=${PYTHON:-python3}
MODELS=${MODELS:-"derain denoise deblur denoise-noea"}
SETS=${SETS:-}
INIT_MAP=${INIT_MAP:-}
MODEL_SETS=${MODEL_SETS:-}
COMPILE=${COMPILE:-}
GRACE=${GRACE:-60}
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}  # 4 processes that mostly feed the GPU
export PYTHONUNBUFFERED=1

echo "== environment ($(date -u +%FT%TZ))"
"$PYTHON" - <<'EOF'
import importlib, platform, sys
print("python", sys.version.split()[0], platform.platform())
missing = []
for mod in ("torch", "numpy", "cv2", "yaml", "safetensors", "tqdm"):
    try:
        m = importlib.import_module(mod)
        print(f"  {mod} {getattr(m, '__version__', '?')}")
    except ImportError:
        missing.append(mod)
if missing:
    pip = {"cv2": "opencv-python-headless", "yaml": "pyyaml"}
    print("MISSING:", " ".join(missing), "-> pip install",
          " ".join(pip.get(m, m) for m in missing))
    sys.exit(3)
import torch
print("  torch.cuda.is_available():", torch.cuda.is_available(), "| CUDA", torch.version.cuda)
if torch.cuda.is_available():
    p = torch.cuda.get_device_properties(0)
    print(f"  GPU: {p.name}, {p.total_memory / 2**30:.0f} GiB, bf16 "
          f"{torch.cuda.is_bf16_supported()}")
EOF
rc=$?
if [ $rc -ne 0 ]; then echo "environment check failed (rc=$rc)"; exit $rc; fi
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.used,memory.total \
  --format=csv,noheader
echo "host cores: $(nproc --all) (nproc alone would print OMP_NUM_THREADS)"

n_train=$(ls data/corpus/train 2>/dev/null | wc -l)
n_val=$(ls data/corpus/val 2>/dev/null | wc -l)
echo "corpus: $n_train train, $n_val val images"
if [ "$n_train" -eq 0 ]; then
  echo "no data/corpus/train: copy it along or run scripts/build_corpus.py"; exit 4
fi

mkdir -p "$OUT/weights"
START=$(date +%s)
LIMIT=$("$PYTHON" -c "print(int(float('$MINUTES') * 60 + $GRACE))")
declare -A PIDS
for name in $MODELS; do
  mkdir -p "$OUT/$name"
  set_args=(--set "num_workers=$WORKERS" --set "batch_size=$BATCH" --set "crop=$CROP"
            --set "synth=$SYNTH")
  [ -n "$LR" ] && set_args+=(--set "lr=$LR")
  init=""
  if [ -n "$INIT" ] && [ -f "$INIT/$name.safetensors" ]; then init=$INIT/$name.safetensors; fi
  for kv in $INIT_MAP; do [ "${kv%%=*}" = "$name" ] && init=${kv#*=}; done
  [ -n "$init" ] && set_args+=(--set "init_weights=$init")
  for c in $COMPILE; do [ "$c" = "$name" ] && set_args+=(--set "compile=true"); done
  for kv in $SETS; do set_args+=(--set "$kv"); done
  for kv in $MODEL_SETS; do [ "${kv%%:*}" = "$name" ] && set_args+=(--set "${kv#*:}"); done
  echo "$name: ${set_args[*]}"
  # timeout -s INT: a straggler is interrupted (its best or last checkpoint is exported below).
  timeout -s INT -k 30 "$LIMIT" "$PYTHON" -m drcnet.cli_train train \
    --config "configs/$name.yaml" --out "$OUT/$name" \
    --export "$OUT/weights/$name.safetensors" --max-minutes "$MINUTES" --plain \
    "${set_args[@]}" >"$OUT/$name/train.log" 2>&1 &
  PIDS[$name]=$!
  echo "started $name (pid ${PIDS[$name]}) -> $OUT/$name/train.log"
done

# Progress: the latest line of each log every 30 s, while any process runs.
while :; do
  alive=0
  for name in $MODELS; do kill -0 "${PIDS[$name]}" 2>/dev/null && alive=1; done
  [ $alive -eq 0 ] && break
  sleep 5  # poll often (no idle GPU time after the last process ends), report every 30 s
  [ $(( ($(date +%s) - START) % 30 )) -lt 5 ] || continue
  echo "-- $(( $(date +%s) - START )) s"
  for name in $MODELS; do
    echo "   $name: $(grep -a 'it/s\|val PSNR\|error\|Error' "$OUT/$name/train.log" | tail -1)"
  done
  command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=utilization.gpu,memory.used \
    --format=csv,noheader
done

FAIL=0
for name in $MODELS; do
  wait "${PIDS[$name]}"; rc=$?
  echo "== $name exited with $rc"
  tail -3 "$OUT/$name/train.log"
  # An interrupted process exported nothing: take its best validated weights (with ema=…,
  # the average), else its last checkpoint.
  src=""
  [ -f "$OUT/$name/last.safetensors" ] && src=last
  [ -f "$OUT/$name/best.safetensors" ] && src=best
  if [ ! -f "$OUT/weights/$name.safetensors" ] && [ -n "$src" ]; then
    echo "   exporting the $src checkpoint of $name"
    "$PYTHON" - "$OUT/$name/$src.safetensors" "$OUT/weights/$name.safetensors" "$src" <<'EOF'
import sys
from drcnet.weights import build_model, read_metadata, save_weights
meta = read_metadata(sys.argv[1])
meta = {k: v for k, v in meta.items() if k not in ("config", "format")}
meta["exported"] = f"{sys.argv[3]} checkpoint (process interrupted)"
save_weights(sys.argv[2], build_model(sys.argv[1]), meta, half=True)
EOF
  fi
done

echo "== summary ($(( $(date +%s) - START )) s)"
"$PYTHON" - "$OUT" $MODELS <<'EOF' | tee "$OUT/summary.txt"
import csv, sys
from pathlib import Path
from drcnet.weights import build_model, read_metadata, sha256
out, names = Path(sys.argv[1]), sys.argv[2:]
bad = 0
for name in names:
    w = out / "weights" / f"{name}.safetensors"
    if not w.is_file():
        print(f"{name}: NO WEIGHTS"); bad += 1; continue
    model = build_model(w)
    import torch
    if not all(bool(torch.isfinite(p).all()) for p in model.parameters()):
        print(f"{name}: NON-FINITE WEIGHTS"); bad += 1
    meta = read_metadata(w)
    rows = list(csv.DictReader(open(out / name / "log.csv")))
    rates = [float(r["steps_per_s"]) for r in rows if r["steps_per_s"]]
    sps = [float(r["samples_per_s"]) for r in rows if r["samples_per_s"]]
    rate = sum(rates[-5:]) / max(1, len(rates[-5:]))
    samples = sum(sps[-5:]) / max(1, len(sps[-5:]))
    print(f"{name}: steps {meta.get('steps')} in {meta.get('wall_time_s')} s, "
          f"{rate:.2f} it/s ({samples:.0f} samples/s), val PSNR {meta.get('val_psnr')} dB "
          f"SSIM {meta.get('val_ssim')} (input {meta.get('val_input_psnr')} dB), "
          f"ea={model.config.ea}, skipped {meta.get('skipped_steps', '?')} non-finite "
          f"steps, init {meta.get('init_weights', 'scratch')}, {meta.get('hardware')}, "
          f"{w.stat().st_size / 1e6:.2f} MB sha256 {sha256(w)[:16]}")
sys.exit(1 if bad else 0)
EOF
FAIL=${PIPESTATUS[0]}
ls -la "$OUT/weights"
exit $FAIL
