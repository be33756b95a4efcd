#!/usr/bin/env bash
# ./dev demo: runs meshd with the packaged default settings plus one L4 relay, sends HTTP
# traffic through it, shows `meshctl status` and the metrics, then drains meshd with
# SIGTERM. Everything runs on loopback in a temporary directory and is cleaned up on exit.
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/../.."
BUILD=${BUILD:-build}
MESHD=$BUILD/daemon/app/meshd
MESHCTL=$BUILD/daemon/meshctl/meshctl
work=$(mktemp -d /tmp/meshd-demo.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

say "an application: python's http.server on 127.0.0.1"
app_port=$(free_port)
mkdir -p "$work/www" && echo "hello from the application behind meshd" > "$work/www/index.html"
python3 -m http.server --bind 127.0.0.1 --directory "$work/www" "$app_port" >"$work/app.log" 2>&1 &
pids+=($!)

say "meshd with the default settings (packaging/meshd.toml) and one relay"
relay_port=$(free_port)
sed -e "s|/run/meshd/admin.sock|$work/admin.sock|" \
    -e 's|0.0.0.0:15020|127.0.0.1:0|' -e 's|0.0.0.0:15021|127.0.0.1:0|' packaging/meshd.toml > "$work/meshd.toml"
cat >> "$work/meshd.toml" <<TOML

[[relay]]
name = "web"
listen = "127.0.0.1:$relay_port"
upstream = "127.0.0.1:$app_port"
TOML
"$MESHD" --check-config --config "$work/meshd.toml"
"$MESHD" --config "$work/meshd.toml" >"$work/meshd.log" 2>&1 &
meshd_pid=$!
pids+=($meshd_pid)
export MESHD_ADMIN_SOCKET=$work/admin.sock
for _ in $(seq 100); do [ -S "$work/admin.sock" ] && break; sleep 0.05; done

say "curl through the relay (127.0.0.1:$relay_port -> 127.0.0.1:$app_port), 20 times"
for i in $(seq 20); do curl -sS --max-time 5 "http://127.0.0.1:$relay_port/" >/dev/null; done
curl -sS --max-time 5 "http://127.0.0.1:$relay_port/"

say "meshctl status"
"$MESHCTL" status

say "metrics (a few of them)"
metrics=$("$MESHCTL" status -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["admin"]["metrics"])')
curl -sS --max-time 5 "http://$metrics/metrics" | grep -E '^meshd_(connections_opened_total|relay_bytes_total|build_info)|^process_resident_memory_bytes'

say "SIGTERM: meshd drains and exits"
kill -TERM "$meshd_pid"
wait "$meshd_pid" && echo "meshd exited cleanly"
cat "$work/meshd.log"
