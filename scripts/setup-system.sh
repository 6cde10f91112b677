#!/usr/bin/env bash
# System packages for the notebooks and figures (Debian 12 / Ubuntu): classic Jupyter Notebook and
# nbconvert (to open and execute notebooks), Chromium (headless, for PNG/SVG figure export), OpenBLAS
# headers (libopenblas-dev: the optional native matMul kernel, native/rra-blas), and PostgreSQL (the
# store's PostgreSQL tests and a team store; scripts/setup-postgres.sh starts it and creates the test db),
# and PyTorch (python3-torch 1.13: the independent reference checkpoints of test/fixtures/hf-checkpoints.py
# and the PyTorch peer of rra bench --peer; measured on Debian 12: 165 packages, +635 MB, 79 s with
# most archives already in apt's cache).
# Idempotent: installs only what is missing. Needs root or sudo.
set -euo pipefail
PKGS=(jupyter-notebook jupyter-nbconvert python3-nbclient jupyter-client jupyter-nbformat chromium libopenblas-dev postgresql python3-torch)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "[setup-system] all system packages present: ${PKGS[*]}"
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "[setup-system] need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  SUDO="sudo"
fi
echo "[setup-system] installing: ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
