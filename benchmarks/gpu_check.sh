#!/usr/bin/env bash
# What a GPU machine is for, in one run: the GPU tests on CuPy, then the benchmarks against
# PyTorch's CUDA peer (layers, seq2seq, loss), then one epoch of training on the cupy backend.
# Output goes to stdout and to one file per stage under $OUT (default gpu_results/), and
# summary.txt, seven files in all (the tables are in the stages' files), beside the training
# run's directory train_run/.
#
#   bash benchmarks/gpu_check.sh          # everything (its limits add up to 670 s, 11 minutes)
#   bash benchmarks/gpu_check.sh tests    # the GPU tests only (270 s at most)
#   bash benchmarks/gpu_check.sh bench    # the benchmarks and the training run (430 s at most)
#
# It runs from a checkout without installing (PYTHONPATH) and needs numpy, scipy, numba, cupy,
# torch with CUDA, pytest, hypothesis and tqdm where it runs. Each stage has a time limit, so one
# that hangs leaves the next its time; every benchmark row is printed as it is measured. It stops
# at once, with exit status 1, where CuPy cannot reach a GPU (the GPU tests would all be skipped,
# which is no pass), and exits 1 when any stage failed; it can run again on the same machine.
set -u
what=${1:-all}
case "$what" in
    all | tests | bench) ;;
    *) echo "gpu_check.sh: unknown part '$what'; give tests, bench or nothing (all)" >&2; exit 2 ;;
esac
cd "$(dirname "$0")/.."
out=${OUT:-gpu_results}
mkdir -p "$out"
: >"$out/summary.txt"  # this run's summary only
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
export HYPOTHESIS_PROFILE=${HYPOTHESIS_PROFILE:-gpu}  # 5 examples a property (tests/conftest.py)
py=${PYTHON:-python3}

failed=""
stage() {  # stage NAME LIMIT_S COMMAND...: run it, keep its output in $out/NAME.txt
    local name=$1 limit=$2 start=$SECONDS status
    shift 2
    echo "== $name (at most ${limit}s): $*"
    timeout "$limit" "$@" 2>&1 | tee "$out/$name.txt"
    status=${PIPESTATUS[0]}
    echo "== $name: exit $status after $((SECONDS - start))s" | tee -a "$out/summary.txt"
    [ "$status" = 0 ] || failed="$failed $name"
}

stage facts 30 "$py" -c '
import shutil, subprocess
import numpy
try:
    import cupy
except ImportError as e:  # one line, not a traceback: what is missing and what to install
    raise SystemExit(f"CuPy does not import ({e}): pip install cupy-cuda13x (CUDA 13) or "
                     "cupy-cuda12x (CUDA 12), on a machine with an NVIDIA GPU")
if shutil.which("nvidia-smi"):
    print(subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True).stdout.strip())
print("numpy", numpy.__version__, "cupy", cupy.__version__, "CUDA runtime",
      cupy.cuda.runtime.runtimeGetVersion())
try:  # the tests need no torch; the benchmarks say so in their own stages
    import torch
    print("torch", torch.__version__, "cuda", torch.version.cuda, "available",
          torch.cuda.is_available())
except ImportError:
    print("torch: not installed (the benchmarks will have no PyTorch column)")
print("smoke: cupy sum", int(cupy.arange(10).sum()))
from minis2s import backend
assert "cupy" in backend.available(), "minis2s does not see CuPy: backend.available() = %s" % (
    backend.available(),)'
if [ -n "$failed" ]; then
    echo "== no usable GPU through CuPy (see $out/facts.txt): nothing else to run" \
        | tee -a "$out/summary.txt"
    exit 1
fi

if [ "$what" != bench ]; then
    stage tests 240 "$py" -m pytest -m gpu -p no:cacheprovider -rs --durations=15 \
        tests/test_cupy.py tests/test_cupy_twins.py tests/test_cupy_twins_dtypes.py
fi
if [ "$what" != tests ]; then
    stage layers 140 "$py" benchmarks/bench_layers.py --backends cupy --gpu --torch-device cuda \
        --budget 1
    stage seq2seq 140 "$py" benchmarks/bench_seq2seq.py --backends cupy --gpu \
        --torch-device cuda --budget 1
    stage loss 60 "$py" benchmarks/bench_loss.py --backends cupy --gpu --torch-device cuda \
        --budget 1
    rm -rf "$out/train_run"  # a run of its own each time (a second run would need --resume)
    stage train 60 "$py" -m minis2s --backend cupy train --task reverse-digits --epochs 1 \
        --quiet --out "$out/train_run"
fi
if [ -n "$failed" ]; then
    echo "== failed:$failed" | tee -a "$out/summary.txt"
    exit 1
fi
echo "== every stage passed" | tee -a "$out/summary.txt"
