#!/usr/bin/env bash
# One-command GPU check: image extraction, scGPT embedding and a short training on CUDA,
# with throughput and fp32-vs-autocast agreement (see benchmarks/gpu_check.py).
# Usage: bash benchmarks/gpu_check.sh [gpu_check.py options, e.g. --images 20 --epochs 3]
# Exit status: 0 all sections ran, 1 a section failed, 2 no CUDA on this machine.
set -euo pipefail
cd "$(dirname "$0")/.."
if command -v nvidia-smi >/dev/null 2>&1; then
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
fi
exec python benchmarks/gpu_check.py "$@"
