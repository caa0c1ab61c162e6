#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The whole test suite, as CI runs it, on Debian 12 as root:
#   1. unit tests (GoogleTest, through ctest);
#   2. DKMS builds of the module for both Debian 12 kernel lines (6.1, 6.12);
#   3. the VM scenarios (tests/vm/scenarios) on both kernel lines in QEMU.
# It installs what it needs from Debian's packages and ends with one line
# "N passed, N failed" counting unit tests, DKMS builds and VM runs.
set -euo pipefail
cd "$(dirname "$0")/.."
source tests/vm/common.sh
[ "$(id -u)" = 0 ] || die "run as root: it installs Debian packages"

start=$(date +%s)
apt-get update -q >/dev/null
install_host_packages

count() { # LOG -> "passed failed" from a closing "N passed, N failed" line
	sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed.*/\1 \2/p' "$1" | tail -n1
}

log "== unit tests"
build_userspace
set +e
(cd "$OUT/cmake" && ctest --output-on-failure) | tee "$OUT/unit.log"
set -e
unit_total=$(sed -n 's/.*tests failed out of \([0-9]*\).*/\1/p' "$OUT/unit.log" | tail -n1)
unit_failed=$(sed -n 's/.* \([0-9]*\) tests failed out of.*/\1/p' "$OUT/unit.log" | tail -n1)
unit_total=${unit_total:-0}
unit_failed=${unit_failed:-1}
((unit_total > 0)) || { log "no unit test ran"; unit_failed=1; }

log "== DKMS builds"
tests/dkms-check.sh | tee "$OUT/dkms.log" || true
read -r dkms_ok dkms_failed < <(count "$OUT/dkms.log" || echo "0 1")

log "== VM scenarios"
tests/vm/run.sh | tee "$OUT/vm.log" || true
read -r vm_ok vm_failed < <(count "$OUT/vm.log" || echo "0 1")
: "${dkms_ok:=0}" "${dkms_failed:=1}" "${vm_ok:=0}" "${vm_failed:=1}"

passed=$((unit_total - unit_failed + dkms_ok + vm_ok))
failed=$((unit_failed + dkms_failed + vm_failed))
log "== summary: unit $((unit_total - unit_failed))/$unit_total, dkms $dkms_ok/$((dkms_ok + dkms_failed)), vm $vm_ok/$((vm_ok + vm_failed)), $(($(date +%s) - start))s"
echo "$passed passed, $failed failed"
((failed == 0))
