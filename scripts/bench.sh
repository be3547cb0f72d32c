#!/bin/sh
# Reproduces the table of docs/benchmarks.md: the machine, then `ipcast bench` with JSON
# and chart written to OUT_DIR (default bench-results/). Extra arguments go to ipcast bench.
#   scripts/bench.sh                       # 1316, 8192, 65536 B; 3 s per run (~2 min)
#   OUT_DIR=/tmp/b scripts/bench.sh --seconds 1
set -eu
cd "$(dirname "$0")/.."
out=${OUT_DIR:-bench-results}
mkdir -p "$out"
[ -f dist/cli.js ] || npm run build:ts
{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "nproc: $(nproc)"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')"
  echo "kernel: $(uname -r)"
  echo "node: $(node --version)"
  echo "msgmax: $(cat /proc/sys/kernel/msgmax)  msgmnb: $(cat /proc/sys/kernel/msgmnb)"
  echo "loadavg before: $(cat /proc/loadavg)"
} | tee "$out/machine.txt"
node bin/ipcast.js bench --json "$out/bench.json" --chart "$out/bench.svg" "$@" | tee "$out/bench.txt"
ipcs -q -s -m | grep -c '^0x' >/dev/null 2>&1 || true
