#!/usr/bin/env bash
# Open the notebooks in classic Jupyter Notebook with the project's tslab kernel (npm run notebook).
set -euo pipefail
cd "$(dirname "$0")/.."
test -f .jupyter/share/jupyter/kernels/tslab/kernel.json || { echo "tslab kernel not registered: run bash scripts/setup.sh" >&2; exit 1; }
export JUPYTER_PATH="$PWD/.jupyter/share/jupyter" PYDEVD_DISABLE_FILE_VALIDATION=1
# the declarations of lib/ that cells are type-checked against, rewritten if lib/ changed (lib/notebooks/types.ts):
# now, and in every kernel started or restarted from this server before its first cell (after an edit of lib/)
node bin/rra.js notebooks types
export NODE_OPTIONS="${NODE_OPTIONS:+$NODE_OPTIONS }--require \"$PWD/lib/notebooks/preflight.js\""
extra=()
[ "$(id -u)" -eq 0 ] && extra+=(--allow-root)
exec jupyter notebook --no-browser --ip=127.0.0.1 --notebook-dir=notebooks "${extra[@]}" "$@"
