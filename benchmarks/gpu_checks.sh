#!/usr/bin/env bash
# GPU checks of the axes, training and evaluation in one command (run from the repo root on a CUDA
# machine; ~3-5 min on an H100/H200):
#   1. pytest -m determinism on the GPU (deterministic algorithms + CUBLAS_WORKSPACE_CONFIG), report per combination
#   2. the ResNet19-128 batch-64 step benchmark with its FLOP-bound fraction
#   3. exact float32 vs TF32 step time on ResNet19-128 (trainer.precision)
set -u
export PYTHONPATH="$PWD/src:$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 GANAUDIT_DEVICE=cuda
OUT="${OUT:-/tmp/ganaudit-gpu}"; mkdir -p "$OUT"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee "$OUT/gpu.txt"
python3 -c "import torch; print('torch', torch.__version__, torch.cuda.get_device_name())" | tee -a "$OUT/gpu.txt"
python3 -m pytest tests/training/test_determinism.py -m "determinism and not slow" -q -p no:cacheprovider \
  -o addopts="" 2>&1 | tail -n 230 > "$OUT/determinism.txt"; tail -n 5 "$OUT/determinism.txt"
grep -c "bit-identical" "$OUT/determinism.txt"; grep -v "bit-identical" "$OUT/determinism.txt" | grep "/" | head -20
python3 benchmarks/bench_train_step.py --device cuda --arch resnet19 --steps 20 --warmup 5 2>&1 \
  | grep -v "Warning\|warn" | tee "$OUT/bench_resnet19.txt"
python3 benchmarks/bench_train_step.py --device cuda --arch sndcgan --steps 30 --warmup 5 2>&1 \
  | grep -v "Warning\|warn" | tee "$OUT/bench_sndcgan.txt"
python3 benchmarks/bench_gpu_precision.py --arch resnet19 --steps 20 --warmup 5 2>&1 \
  | grep -v "Warning\|warn" | tee "$OUT/bench_precision.txt"
