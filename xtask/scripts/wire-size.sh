#!/bin/sh
# wire-size.sh: bytes on the wire (Accept-Encoding: br) for what the checkout form page downloads and
# for the loader, from a running host (default: the demo's). Usage: xtask/scripts/wire-size.sh [HOST_URL] [DIST]
# Bytes on the wire with Accept-Encoding: br for what the checkout form page downloads, and the loader.
H=${1:-http://127.0.0.1:8080}; D=${2:-$(dirname "$0")/../../dist}
cd "$D"
total=0
for path in /c/winter-appeal /$(ls main-*.css) /$(ls paywidget-widget-*.js) /$(ls paywidget-widget-*_bg.wasm) $(ls snippets/paywidget-widget-*/src/*.js | sed 's|^|/|'); do
  n=$(curl -s -H 'Accept-Encoding: br' -o /dev/null -w '%{size_download}' "$H$path")
  enc=$(curl -s -H 'Accept-Encoding: br' -D - -o /dev/null "$H$path" | grep -i '^content-encoding' | tr -d '\r')
  echo "$n $path $enc"; total=$((total+n))
done
echo "form page total: $total B"
l=0; for path in /v1/embed.js /v1/embed.css; do n=$(curl -s -H 'Accept-Encoding: br' -o /dev/null -w '%{size_download}' "$H$path"); echo "$n $path"; l=$((l+n)); done
echo "loader total: $l B"
