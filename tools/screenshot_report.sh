#!/bin/sh
# Render a tonecheck HTML report in headless Chromium and save a PNG.
#   tools/screenshot_report.sh report.html [out.png] [WIDTHxHEIGHT]
# Needs the system chromium (apt-get install -y chromium); never downloads a browser.
# Network features are switched off: the report must render fully offline.
set -eu
in=${1:?usage: $0 report.html [out.png] [1400x2000]}
out=${2:-${in%.html}.png}
size=${3:-1400x2000}
browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
[ -n "$browser" ] || { echo "chromium not found (apt-get install -y chromium)" >&2; exit 3; }
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
abs=$(cd "$(dirname "$in")" && pwd)/$(basename "$in")
"$browser" --headless --no-sandbox --disable-gpu --disable-background-networking --disable-component-update \
  --disable-sync --no-first-run --hide-scrollbars --user-data-dir="$profile" --screenshot="$out" \
  --window-size="$(echo "$size" | tr x ,)" "file://$abs" >/dev/null 2>&1
echo "$out"
