#!/usr/bin/env bash
# Installs everything bench needs into ./.venv (idempotent; safe to re-run).
#   bash scripts/install.sh          runtime + test + export (NIR, ONNX) dependencies
# torch is pinned to 2.13.0 (the CPU wheel); neurobench 2.3.0 goes in with --no-deps because
# it declares torchaudio, which has no build for torch 2.13 and which the primate-reaching,
# model, metric and benchmark modules never import.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
PIP=".venv/bin/python -m pip"
$PIP install -q --upgrade pip >/dev/null 2>&1 || true
$PIP install -q "torch==2.13.0"
$PIP install -q --no-deps "neurobench==2.3.0"
$PIP install -q -e ".[test,ray,export]"
# A headless browser for the site's browser test (tests/test_site.py): Debian's chromium and
# chromium-driver. Only as root with apt-get; a failure here only makes those tests skip.
if ! { command -v chromium >/dev/null && command -v chromedriver >/dev/null; } \
   && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; } >/dev/null 2>&1 \
    || echo "bench: chromium could not be installed; the browser tests will skip" >&2
fi
.venv/bin/python -c "import torch, neurobench, snntorch, h5py, neo; print('bench: environment ready (torch', torch.__version__ + ')')"
