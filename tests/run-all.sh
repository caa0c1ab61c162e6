#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The whole test suite, as CI runs it, on Debian 12 as root:
#   1. unit tests (GoogleTest, through ctest);
#   2. the peer protocol decoder's fuzz target over its corpus, then 15 s more;
#   3. the spin model of the protocol, and the mutants it must catch;
#   4. the Debian packages (dpkg-buildpackage): their contents against
#      cmake --install, their versions, and DKMS builds of the module from
#      dcc-dkms for both Debian 12 kernel lines (6.1, 6.12);
#   5. the VM scenarios (tests/vm/scenarios): the single-site ones on both
#      kernel lines, the two- and three-site ones on 6.1, and those whose
#      header says "kernels: all" (rewrite, syncwrite, failover*) on 6.12 too.
# It installs what it needs from Debian's packages and ends with one line
# "N passed, N failed" counting unit tests, model checks, package checks
# and VM runs.
set -euo pipefail
cd "$(dirname "$0")/.."
source tests/vm/common.sh
[ "$(id -u)" = 0 ] || die "run as root: it installs Debian packages"

start=$(date +%s)
apt-get update -q >/dev/null
install_host_packages

# phase TITLE: a heading with the seconds spent so far (where CI's time goes)
phase() { log "== $1 (at $(($(date +%s) - start)) s)"; }
count() { # LOG -> "passed failed" from a closing "N passed, N failed" line
	sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed.*/\1 \2/p' "$1" | tail -n1
}

phase "unit tests"
build_userspace
set +e
(cd "$OUT/cmake" && ctest --output-on-failure) | tee "$OUT/unit.log"
set -e
unit_total=$(sed -n 's/.*tests failed out of \([0-9]*\).*/\1/p' "$OUT/unit.log" | tail -n1)
unit_failed=$(sed -n 's/.* \([0-9]*\) tests failed out of.*/\1/p' "$OUT/unit.log" | tail -n1)
unit_total=${unit_total:-0}
unit_failed=${unit_failed:-1}
((unit_total > 0)) || { log "no unit test ran"; unit_failed=1; }

phase "fuzzing the peer protocol decoder"
fuzz_ok=0 fuzz_failed=1
cmake -S . -B "$OUT/fuzz" -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 \
	-DDCC_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$OUT/fuzz" --target wire_fuzz -j"$(nproc)" >/dev/null
rm -rf "$OUT/fuzz-corpus" && cp -r daemon/fuzz/corpus "$OUT/fuzz-corpus"
# The kept corpus first (regressions), then a short search for new inputs.
if "$OUT/fuzz/daemon/wire_fuzz" -runs=0 daemon/fuzz/corpus >"$OUT/fuzz.log" 2>&1 &&
	"$OUT/fuzz/daemon/wire_fuzz" -max_total_time=15 -max_len=4096 "$OUT/fuzz-corpus" >>"$OUT/fuzz.log" 2>&1; then
	fuzz_ok=1 fuzz_failed=0
	log "PASS wire_fuzz: $(grep -o 'Done [0-9]* runs' "$OUT/fuzz.log" | tail -n1)"
else
	tail -n 30 "$OUT/fuzz.log" >&2
	log "FAIL wire_fuzz (log: $OUT/fuzz.log)"
fi

phase "model checking the protocol (spin)"
tests/model/check.sh | tee "$OUT/model.log" || true
read -r model_ok model_failed < <(sed -n 's/^model: \([0-9]*\) checks passed, \([0-9]*\) failed.*/\1 \2/p' \
	"$OUT/model.log" | tail -n1 || echo "0 1")
: "${model_ok:=0}" "${model_failed:=1}"

phase "Debian packages and DKMS builds"
tests/package-check.sh | tee "$OUT/packages.log" || true
read -r pkg_ok pkg_failed < <(count "$OUT/packages.log" || echo "0 1")

phase "VM scenarios"
tests/vm/run.sh | tee "$OUT/vm.log" || true
read -r vm_ok vm_failed < <(count "$OUT/vm.log" || echo "0 1")
: "${pkg_ok:=0}" "${pkg_failed:=1}" "${vm_ok:=0}" "${vm_failed:=1}"

passed=$((unit_total - unit_failed + fuzz_ok + model_ok + pkg_ok + vm_ok))
failed=$((unit_failed + fuzz_failed + model_failed + pkg_failed + vm_failed))
log "== summary: unit $((unit_total - unit_failed))/$unit_total, fuzz $fuzz_ok/1, model $model_ok/$((model_ok + model_failed)), packages $pkg_ok/$((pkg_ok + pkg_failed)), vm $vm_ok/$((vm_ok + vm_failed)), $(($(date +%s) - start))s"
echo "$passed passed, $failed failed"
((failed == 0))
