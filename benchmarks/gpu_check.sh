#!/usr/bin/env bash
# On a machine with an NVIDIA GPU: install the cuda extra, run the CUDA kernel tests and the
# CUDA backend tests on the GPU (no simulator), then time the kernels (benchmarks/gpu_kernels.py:
# elementwise bandwidth, GEMM vs cuBLAS) and the MLP training step against torch
# (benchmarks/gpu_training.py: step time, copies per step, cold and warm first step).
# About 8 minutes, most of it compiling; the kernel cache under .gpu-cache makes a second run quicker.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -d .gpu-venv ]; then
    python3 -m venv .gpu-venv
fi
. .gpu-venv/bin/activate
python -m pip install --quiet -e '.[test,cuda]'

export NUMBA_CACHE_DIR="$PWD/.gpu-cache/numba" AUTODIFF_CACHE_DIR="$PWD/.gpu-cache/autodiff"
unset NUMBA_ENABLE_CUDASIM
export PYTHONPATH="$PWD"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv || true
python -c "from numba import cuda; assert cuda.is_available(), 'numba-cuda sees no GPU'; cuda.detect()"

# The simulated/ tests run on the real GPU here (collected directly when a GPU is visible);
# the PTX test and the simulator re-run are CPU-only work, skipped to save GPU time.
python -m pytest -q -p no:cacheprovider tests/kernels/cuda/simulated
python -m pytest -q -p no:cacheprovider tests/cuda_backend_checks.py
python benchmarks/gpu_kernels.py
python benchmarks/gpu_training.py
