#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Benchmarks, run in the same QEMU VMs as the tests; prints tables of ratios
# measured in one run.  Usage: tests/bench.sh [--kernel 6.1|6.12]
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -gt 0 ] || set -- --kernel 6.1
tests/vm/run.sh --bench "$@" hit-iops >/dev/null || true
for log in build/vm/run/*/hit-iops/console-1.log; do
	[ -f "$log" ] || continue
	echo "Hit path, 4 KiB, iodepth 16, O_DIRECT: IOPS of dcc against dm-linear ($(basename "$(dirname "$(dirname "$log")")"))"
	echo
	printf '| %-8s | %-9s | %10s | %10s | %9s |\n' device workload dm-linear dcc "dcc/linear"
	printf '|%s|%s|%s|%s|%s|\n' ---------- ----------- ------------ ------------ -----------
	grep -a '^BENCH ' "$log" | grep -v '^BENCH device' | while read -r _ dev rw l d r; do
		printf '| %-8s | %-9s | %10s | %10s | %9s |\n' "$dev" "$rw" "$l" "$d" "$r"
	done
	echo
	grep -aq '^DCC-RESULT hit-iops 0' "$log" || { echo "benchmark run failed: $log"; exit 1; }
done
