#!/usr/bin/env bash
# Sets up everything emogen needs on a bare Debian/Ubuntu machine, idempotently:
#   1. Debian packages that are missing (installed when run as root; otherwise the exact apt command is printed),
#   2. a virtualenv in .venv,
#   3. torch: the CPU build 2.13.0 when no CUDA GPU is present (GPU users keep or get a CUDA build),
#   4. emogen itself (editable) with the extras named in EMOGEN_EXTRAS.
# The Makefile runs it only when its inputs changed (see the stamp there), so repeated `make` calls are fast.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${VENV:-.venv}
EXTRAS=${EMOGEN_EXTRAS:-test}
PYTHON=${PYTHON:-python3}
DEBIAN_PACKAGES_FILE=scripts/debian-packages.txt

log() { printf '[setup] %s\n' "$*"; }

missing_debian_packages() {
    local wanted=("$@") missing=()
    for pkg in "${wanted[@]}"; do
        if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
            missing+=("$pkg")
        fi
    done
    echo "${missing[@]:-}"
}

install_debian_packages() {
    command -v dpkg-query >/dev/null || { log "not a Debian-based system: install the packages in $DEBIAN_PACKAGES_FILE yourself"; return 0; }
    local wanted=()
    mapfile -t wanted < <(grep -v '^\s*#' "$DEBIAN_PACKAGES_FILE" | awk 'NF {print $1}')
    # A bare machine may lack a Python that can make virtualenvs.
    if ! command -v "$PYTHON" >/dev/null || ! "$PYTHON" -c 'import venv, ensurepip' 2>/dev/null; then
        wanted+=(python3 python3-venv python3-pip)
    fi
    local missing
    missing=$(missing_debian_packages "${wanted[@]}")
    [ -z "$missing" ] && return 0
    local cmd="apt-get install -y --no-install-recommends $missing"
    if [ "$(id -u)" -ne 0 ]; then
        log "missing Debian packages: $missing"
        log "run as root:  apt-get update && $cmd"
        exit 1
    fi
    log "installing Debian packages: $missing"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $cmd -qq
}

install_debian_packages

"$PYTHON" - <<'PY' || { log "emogen needs Python >= 3.10 (found $($PYTHON --version 2>&1))"; exit 1; }
import sys
sys.exit(0 if sys.version_info >= (3, 10) else 1)
PY

if [ ! -x "$VENV/bin/python" ]; then
    log "creating virtualenv $VENV"
    "$PYTHON" -m venv "$VENV"
fi
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check --no-input -q)

if ! "$VENV/bin/python" -c 'import torch, sys; v = tuple(int(x) for x in torch.__version__.split("+")[0].split(".")[:2]); sys.exit(v < (2, 4))' 2>/dev/null; then
    if command -v nvidia-smi >/dev/null && nvidia-smi -L >/dev/null 2>&1; then
        log "CUDA GPU found: installing a CUDA build of torch"
        "${PIP[@]}" install "torch>=2.4"
    else
        # No GPU: the CPU build. EMOGEN_TORCH_INDEX can name a CPU wheel index where plain PyPI would
        # give a multi-GB CUDA build.
        log "no CUDA GPU: installing CPU torch 2.13.0"
        "${PIP[@]}" install ${EMOGEN_TORCH_INDEX:+--index-url "$EMOGEN_TORCH_INDEX"} torch==2.13.0
    fi
fi

log "installing emogen[$EXTRAS]"
"${PIP[@]}" install -e ".[$EXTRAS]" 2>&1 | grep -v "^WARNING: Location" || true
"${PIP[@]}" check >/dev/null || { "${PIP[@]}" check; log "pip check found conflicts"; exit 1; }
if [[ ",$EXTRAS," == *",faces,"* ]]; then
    "$VENV/bin/python" -m emogen.assets fetch
fi
"$VENV/bin/python" -c "import emogen, torch; print('[setup] emogen', emogen.__version__, 'torch', torch.__version__)"
