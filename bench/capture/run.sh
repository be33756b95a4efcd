#!/usr/bin/env bash
# bench/capture/run.sh BUILD_DIR [SAMPLES]: connection set-up latency and rate through eBPF
# capture, nftables capture and no capture, in one run (needs root). Everything is private to
# the run: a mount namespace with its own /run/netns and bpffs, two pod netns (198.18.0.2 on
# a veth pair inside each, no route out), a cgroup of its own; all removed on exit.
set -euo pipefail
build=$(readlink -f "${1:?usage: run.sh BUILD_DIR [SAMPLES]}")
samples=${2:-5000}
[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root"; exit 77; }
if [ -z "${MESH_BENCH_PRIVATE:-}" ]; then
  exec env MESH_BENCH_PRIVATE=1 unshare --mount --propagation private -- "$0" "$@"
fi
cg2=$(awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo)
tmp=$(mktemp -d /tmp/meshbench-XXXXXX)
cg="$cg2/meshbench-$$"
cleanup() {
  ip netns del "mb$$e" 2>/dev/null || true
  ip netns del "mb$$n" 2>/dev/null || true
  for p in $(cat "$cg/pod/cgroup.procs" 2>/dev/null); do [ "$p" != "$$" ] && kill -9 "$p" 2>/dev/null; done
  rmdir "$cg/pod" "$cg" 2>/dev/null || true
  umount "$tmp/bpffs" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
mkdir -p /run/netns "$tmp/bpffs" "$cg/pod"
mount -t tmpfs meshbench /run/netns
mount -t bpf bpf "$tmp/bpffs"
mkdir -p "$tmp/e" "$tmp/n"
for pod in "mb$$e" "mb$$n"; do   # one pod for eBPF capture, one for nftables capture
  ip netns add "$pod"
  ip -n "$pod" link set lo up
  ip -n "$pod" link add dummy0 type veth peer name dummy1
  ip -n "$pod" link set dummy1 up
  ip -n "$pod" addr add 198.18.0.2/24 dev dummy0
  ip -n "$pod" link set dummy0 up
  ip -n "$pod" route add 198.19.0.0/16 dev dummy0   # nftables NATs after routing: needs a route
done
"$build/tests/support/netns_exec" --cgroup "$cg/pod" -- "$build/bench/capture/capture_bench" \
  "/run/netns/mb$$e" "/run/netns/mb$$n" 198.18.0.2 "$cg" "$tmp/bpffs" "$tmp/e" "$tmp/n" "$samples"
