#!/usr/bin/env bash
# What a GPU machine is for, in one run: the GPU tests on CuPy, then the benchmarks against
# PyTorch's CUDA peer (layers, seq2seq, loss), then one epoch of training on the cupy backend.
# Output goes to stdout and to one file per stage under $OUT (default gpu_results/), and
# summary.txt, seven files in all (the tables are in the stages' files).
#
#   bash benchmarks/gpu_check.sh          # everything (its limits add up to 11.5 minutes)
#   bash benchmarks/gpu_check.sh tests    # the GPU tests only (4.5 minutes at most)
#   bash benchmarks/gpu_check.sh bench    # the benchmarks and the training run (7.5 minutes)
#
# It runs from a checkout without installing (PYTHONPATH) and needs numpy, scipy, numba, cupy,
# torch with CUDA, pytest and hypothesis where it runs. Each stage has a time limit, so one that
# hangs leaves the next its time; every benchmark row is printed as it is measured.
set -u
cd "$(dirname "$0")/.."
out=${OUT:-gpu_results}
mkdir -p "$out"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
export HYPOTHESIS_PROFILE=${HYPOTHESIS_PROFILE:-gpu}  # 5 examples a property (tests/conftest.py)
py=${PYTHON:-python3}
what=${1:-all}

stage() {  # stage NAME LIMIT_S COMMAND...: run it, keep its output in $out/NAME.txt
    local name=$1 limit=$2 start=$SECONDS
    shift 2
    echo "== $name (at most ${limit}s): $*"
    timeout "$limit" "$@" 2>&1 | tee "$out/$name.txt"
    echo "== $name: exit ${PIPESTATUS[0]} after $((SECONDS - start))s" | tee -a "$out/summary.txt"
}

stage facts 30 "$py" -c '
import subprocess, numpy, cupy, torch
print(subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True).stdout.strip())
print("numpy", numpy.__version__, "cupy", cupy.__version__, "CUDA runtime",
      cupy.cuda.runtime.runtimeGetVersion(), "torch", torch.__version__, "cuda", torch.version.cuda,
      "available", torch.cuda.is_available())
print("smoke: cupy sum", int(cupy.arange(10).sum()))'

if [ "$what" != bench ]; then
    stage tests 240 "$py" -m pytest -m gpu -p no:cacheprovider -rs --durations=15 \
        tests/test_cupy.py tests/test_cupy_twins.py
fi
if [ "$what" != tests ]; then
    stage layers 140 "$py" benchmarks/bench_layers.py --backends cupy --gpu --torch-device cuda \
        --budget 1
    stage seq2seq 140 "$py" benchmarks/bench_seq2seq.py --backends cupy --gpu \
        --torch-device cuda --budget 1
    stage loss 60 "$py" benchmarks/bench_loss.py --backends cupy --gpu --torch-device cuda \
        --budget 1
    stage train 60 "$py" -m minis2s --backend cupy train --task reverse-digits --epochs 1 \
        --quiet --out /tmp/minis2s_gpu_run
fi
