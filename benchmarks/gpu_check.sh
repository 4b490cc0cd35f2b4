#!/usr/bin/env bash
# One prepared GPU check: every CUDA path of genvfx (torch PatchMatch fill, ONNX Runtime
# CUDA and IOBinding for Relight and the ONNX fill adapter, the diffusers adapter in fp16,
# Warp's ray-cast, NVML energy) and the benchmarks' GPU figures, printed as one table by
# benchmarks/gpu_check.py. Run from anywhere, on a machine with the repository copied over:
#
#   bash benchmarks/gpu_check.sh
#
# Where no GPU is seen it runs the same table on the CPU, says "no GPU: CUDA paths
# skipped", and exits 0 when nothing failed. Exit status: non-zero when a row failed or
# the environment could not be made.
#
# The environment it makes (the first that applies):
#   GENVFX_PYTHON=python3   run with this interpreter as it is (nothing installed but the
#                           wheels in GENVFX_WHEELS); genvfx is imported from this checkout.
#   GENVFX_VENV=DIR         reuse this virtual environment (one with genvfx[torch,dev]).
#   a GPU, a package index reachable: a venv (GENVFX_CHECK_VENV, default
#                           ~/.cache/genvfx/gpu-check-venv) with `pip install torch`: on
#                           Linux PyPI's default torch wheel is a CUDA build, bringing its
#                           CUDA and cuDNN libraries as nvidia-* wheels, which
#                           onnxruntime-gpu finds too. Then genvfx[torch,dev,diffusers] and
#                           onnxruntime-gpu *instead of* onnxruntime: both wheels own the
#                           `onnxruntime` module and the last one installed wins, so the CPU
#                           build is removed and the GPU build reinstalled over it.
#   a GPU, no index (a GPU machine that reaches nothing outside): the machine's own python3
#                           when its torch sees CUDA (a --system-site-packages venv made from
#                           inside another venv would not see that venv's packages, so none
#                           is made); missing packages (warp-lang, mujoco, OpenEXR,
#                           opencolorio, onnxruntime-gpu, diffusers…) come as wheels from
#                           GENVFX_WHEELS and go to a folder on PYTHONPATH.
#   no GPU: a venv with `pip install torch==2.13.0` (the README's CPU build) and
#                           genvfx[torch,dev,diffusers].
# GENVFX_CHECK_BUDGET (seconds, default 480) bounds the checks themselves; installing is
# not counted. Extra arguments go to gpu_check.py (--only NAME, --device cpu).
set -uo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
budget="${GENVFX_CHECK_BUDGET:-480}"

say() { echo "gpu_check: $*" >&2; }

has_gpu=0
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L 2>/dev/null | grep -q GPU; then
  has_gpu=1
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | sed 's/^/gpu_check: GPU: /' >&2
else
  say "no GPU: nvidia-smi lists none"
fi

index_reachable() {  # one look-up of pip itself, no retries
  timeout 60 "$1" -m pip index versions pip --retries 0 --timeout 10 >/dev/null 2>&1
}

# A folder holding a link named genvfx to this checkout: `import genvfx` without installing.
link_package() {
  local folder
  folder="$(mktemp -d)"
  ln -s "$repo" "$folder/genvfx"
  echo "$folder"
}

install_wheels() {  # $1: python; installs GENVFX_WHEELS into a folder put on PYTHONPATH
  [ -n "${GENVFX_WHEELS:-}" ] || return 0
  local site
  site="$(mktemp -d)/site"
  say "installing the wheels in $GENVFX_WHEELS (no index) into $site"
  "$1" -m pip install -q --no-index --no-deps --no-compile --target "$site" "$GENVFX_WHEELS"/*.whl || return 1
  export PYTHONPATH="$site${PYTHONPATH:+:$PYTHONPATH}"
}

python=""
if [ -n "${GENVFX_PYTHON:-}" ]; then
  python="$(command -v "$GENVFX_PYTHON")" || { say "GENVFX_PYTHON=$GENVFX_PYTHON not found"; exit 2; }
  install_wheels "$python" || exit 2
  linked="$(link_package)" || exit 2
  export PYTHONPATH="$linked${PYTHONPATH:+:$PYTHONPATH}"
  say "using $python as it is"
elif [ -n "${GENVFX_VENV:-}" ]; then
  python="$GENVFX_VENV/bin/python"
  [ -x "$python" ] || { say "GENVFX_VENV=$GENVFX_VENV has no bin/python"; exit 2; }
  say "reusing the venv $GENVFX_VENV"
else
  base="$(command -v python3.11 || command -v python3)"
  if [ "$has_gpu" = 1 ] && ! index_reachable "$base"; then
    # no package index: the machine's own Python, if its torch has CUDA
    python="$(command -v python3)"
    if ! "$python" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null; then
      say "no package index is reachable and $python has no CUDA torch: give GENVFX_PYTHON or GENVFX_WHEELS"
      exit 2
    fi
    install_wheels "$python" || exit 2
    linked="$(link_package)" || exit 2
    export PYTHONPATH="$linked${PYTHONPATH:+:$PYTHONPATH}"
    say "no package index: using $python as it is (torch $("$python" -c 'import torch; print(torch.__version__)'))"
  else
    venv="${GENVFX_CHECK_VENV:-$HOME/.cache/genvfx/gpu-check-venv}"
    [ -x "$venv/bin/python" ] || "$base" -m venv "$venv" || exit 2
    python="$venv/bin/python"
    pip=("$python" -m pip install -q)
    started=$SECONDS
    if [ "$has_gpu" = 1 ]; then
      say "installing a CUDA torch, genvfx[torch,dev,diffusers] and onnxruntime-gpu into $venv"
      "${pip[@]}" torch || exit 2
      "${pip[@]}" -e "${repo}[torch,dev,diffusers,gpu]" || exit 2
      ort="$("$python" -c 'import importlib.metadata as m; print(m.version("onnxruntime-gpu"))')" || exit 2
      "$python" -m pip uninstall -q -y onnxruntime onnxruntime-gpu || exit 2
      "${pip[@]}" --no-deps "onnxruntime-gpu==$ort" || exit 2
    else
      say "installing the CPU torch and genvfx[torch,dev,diffusers] into $venv"
      "${pip[@]}" torch==2.13.0 || exit 2
      "${pip[@]}" -e "${repo}[torch,dev,diffusers]" || exit 2
    fi
    say "environment ready in $((SECONDS - started)) s"
  fi
fi

cd "$repo" || exit 2
# Warp prints at init and the checks' output is parsed: keep libraries' chatter on stderr.
export PYTHONUNBUFFERED=1
exec "$python" "$repo/benchmarks/gpu_check.py" --budget "$budget" "$@"
