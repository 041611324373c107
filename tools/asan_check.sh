#!/usr/bin/env bash
# Run the C paths' tests (and the fuzz properties) with AddressSanitizer and UBSan.
# Builds instrumented copies of tonecheck._grams, _gates and _fold into src/tonecheck (an
# editable install picks them up), runs the tests with the sanitizer runtimes preloaded, then
# rebuilds the normal ones. Needs gcc; run from the repository root in the dev environment.
set -euo pipefail
cd "$(dirname "$0")/.."
inc=$(python3 -c "import sysconfig; print(sysconfig.get_paths()['include'])")
suffix=$(python3 -c "import sysconfig; print(sysconfig.get_config_var('EXT_SUFFIX'))")
trap 'python3 -m pip install -q --no-deps -e . >/dev/null' EXIT
for m in _grams _gates _fold; do
    gcc -shared -fPIC -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -I"$inc" \
        "src/tonecheck/$m.c" -o "src/tonecheck/$m$suffix"
done
LD_PRELOAD="$(gcc -print-file-name=libasan.so):$(gcc -print-file-name=libubsan.so)" \
    ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    python3 -m pytest -q -p no:cacheprovider tests/test_model.py tests/test_prefilter.py tests/test_normalize.py tests/test_fuzz.py "$@"
