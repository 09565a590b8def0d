#!/usr/bin/env bash
# Build the standalone desktop bundle with PyInstaller.
#
#   packaging/build_bundle.sh [cpu|gpu]        (make bundle VARIANT=cpu|gpu runs this)
#
# cpu (default): the small bundle when the Python below has a CPU build of torch; from a CUDA
#                build it leaves out the GPU-only libraries and hides GPUs (docs/packaging.md).
# gpu:           everything torch's CUDA build brings; runs on NVIDIA GPUs and on the CPU.
#
# PINSPECT_BUNDLE_PYTHON picks the interpreter whose packages go into the bundle (default: the
# project's .venv). Output: dist/<variant>/panoptic-inspector/ (macOS: a .app beside it);
# PyInstaller's work files: build/pyinstaller-<variant>/. Prints the time taken and the size.
set -euo pipefail
variant="${1:-cpu}"
case "$variant" in cpu|gpu) ;; *) echo "usage: $0 [cpu|gpu]" >&2; exit 2 ;; esac
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
py="${PINSPECT_BUNDLE_PYTHON:-.venv/bin/python}"
if [ ! -x "$py" ] && ! command -v "$py" >/dev/null 2>&1; then
  echo "no Python at $py: run 'make venv' first, or set PINSPECT_BUNDLE_PYTHON" >&2
  exit 2
fi
"$py" -c "import PyInstaller" 2>/dev/null || "$py" -m pip install -q "pyinstaller>=6.6"
cuda="$("$py" -c "import torch; print(torch.version.cuda or '')")"
if [ "$variant" = gpu ] && [ -z "$cuda" ]; then
  echo "the gpu bundle needs a CUDA build of torch; $py has a CPU build" >&2
  exit 2
fi
echo "building the $variant bundle with $("$py" -c 'import sys; print(sys.executable)')" \
     "(torch $("$py" -c 'import torch; print(torch.__version__)'))"
start=$(date +%s)
PINSPECT_BUNDLE_VARIANT="$variant" "$py" -m PyInstaller --noconfirm --clean --log-level WARN \
  --distpath "dist/$variant" --workpath "build/pyinstaller-$variant" packaging/panoptic_inspector.spec
end=$(date +%s)
out="dist/$variant/panoptic-inspector"
echo "built $out in $((end - start)) s"
du -sh "$out" | sed 's/^/size: /'
echo "largest parts:"
du -sh "$out"/_internal/* 2>/dev/null | sort -h | tail -8 | sed 's/^/  /'
