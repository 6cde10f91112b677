#!/usr/bin/env bash
# One-command set-up from a fresh clone: system packages, npm dependencies, the tslab Jupyter kernel.
#   bash scripts/setup.sh                 # CPU: TensorFlow.js wasm backend (works offline)
#   RRA_NATIVE=cpu bash scripts/setup.sh  # also try @tensorflow/tfjs-node (downloads libtensorflow)
#   RRA_NATIVE=gpu bash scripts/setup.sh  # also try @tensorflow/tfjs-node-gpu (CUDA 11.2 + cuDNN 8.1)
# See environment.md for what each dependency is for.
set -euo pipefail
cd "$(dirname "$0")/.."
t0=$(date +%s)

bash scripts/setup-system.sh

echo "[setup] npm ci"
# node-gyp builds better-sqlite3 and the optional native matMul kernel (native/rra-blas) against the
# system's Node headers when they are there (Debian's nodejs ships them in /usr/include/node)
[ -f /usr/include/node/node_api.h ] && export npm_config_nodedir="${npm_config_nodedir:-/usr}"
npm ci --no-audit --no-fund
test -f native/rra-blas/build/Release/rra_blas.node \
  || echo "[setup] note: the native matMul kernel (native/rra-blas) was not built; the wasm backend's own matMul serves (see environment.md)" >&2

case "${RRA_NATIVE:-}" in
  "") ;;
  cpu|gpu)
    pkg="@tensorflow/tfjs-node"; [ "$RRA_NATIVE" = gpu ] && pkg="@tensorflow/tfjs-node-gpu"
    echo "[setup] RRA_NATIVE=$RRA_NATIVE: installing $pkg@4.22.0 (downloads libtensorflow from Google's storage)"
    if ! npm install --no-save --no-audit --no-fund "$pkg@4.22.0"; then
      echo "[setup] $pkg could not be installed (no access to the libtensorflow download?); the wasm backend will serve" >&2
    fi ;;
  *) echo "[setup] RRA_NATIVE must be cpu or gpu, got '$RRA_NATIVE'" >&2; exit 2 ;;
esac

echo "[setup] registering the tslab kernel in .jupyter/ (use: npm run notebook)"
npx tslab install --python=/usr/bin/python3 --binary="$PWD/bin/tslab-kernel.js" --prefix="$PWD/.jupyter" >/dev/null
test -f .jupyter/share/jupyter/kernels/tslab/kernel.json || { echo "[setup] tslab kernel registration failed" >&2; exit 1; }
echo "[setup] the notebooks' declarations of lib/ (lib/.notebook-types)"
node bin/rra.js notebooks types

node bin/rra.js backend
echo "[setup] done in $(( $(date +%s) - t0 )) s"
