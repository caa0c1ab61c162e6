#!/usr/bin/env bash
# Model-check the dcc peer protocol (docs/protocol.md) with spin.
#
# Runs tests/model/dcc.pml exhaustively (no bitstate: every configuration
# below fits in memory) in several configurations of the environment's
# bounds, each of which must find no error; then each mutant and each
# protocol flaw the model found (its fix turned off), each of which must
# violate an assertion (its shortest counterexample is printed and kept under
# build/model/<check>/trace.txt).  Then the same for failover
# (-DFAILOVER: the fo-* checks, then their mutants and flaw; with the
# owner's report, -DLAG, the lag-* checks).  Build products go to
# build/model.
#
#   tests/model/check.sh            all checks but the large ones, which
#                                   run by name only (see "by name only" below)
#   tests/model/check.sh NAME...    only these checks (names as printed)
#   MODEL_JOBS=1 tests/model/check.sh   one check at a time (default 2)
#
# Last line: "model: N checks passed, M failed"; exit status 1 if M > 0.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
out=$root/build/model
mkdir -p "$out"

if ! command -v spin >/dev/null 2>&1; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "model: spin is missing; install Debian's spin package (as root: apt-get install spin)" >&2
		exit 1
	fi
	echo "model: installing spin (apt-get install spin)"
	apt-get update -qq >/dev/null
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq spin >/dev/null
fi
cc=${CC:-gcc}

jobs_max=${MODEL_JOBS:-2}
only=("$@")
names=()

# check NAME EXPECT SPIN_FLAGS [PAN_CC_FLAGS [PAN_RUN_FLAGS]]
#   EXPECT: pass (no error, full search) or fail (an assertion violated,
#   and its trail).
#   PAN_RUN_FLAGS: pan's own (default -w24: a 2^24-slot hash table).
#   Runs in the background; its report goes to build/model/NAME.log and its
#   verdict to build/model/NAME/verdict.
check() {
	local name=$1
	if [ ${#only[@]} -gt 0 ] && [[ " ${only[*]} " != *" $name "* ]]; then
		return 0
	fi
	while [ "$(jobs -rp | wc -l)" -ge "$jobs_max" ]; do
		wait -n || true
	done
	names+=("$name")
	run_check "$@" >"$out/$name.log" 2>&1 &
}

run_check() {
	# -O1: pan runs about as fast as with -O2 (within 3 % here) and
	# builds in half the time (1.4 s against 2.5 s), which over some 30
	# checks is more than what -O2 saves.
	local name=$1 expect=$2 flags=$3 ccflags=${4:-} panflags=${5:--w24} opt=-O1
	[ "$expect" = fail ] && opt=-O0      # a few thousand states: build fast
	local dir=$out/$name
	rm -rf "$dir"
	mkdir -p "$dir"
	cp "$here/dcc.pml" "$dir/dcc.pml"
	local t0 t1 ok=1 why=""
	t0=$(date +%s.%N)
	(
		cd "$dir"
		# shellcheck disable=SC2086
		spin $flags -a dcc.pml >spin.out 2>&1 &&
			$cc $opt -w -DSAFETY -DNOBOUNDCHECK -DMEMLIM=2048 $ccflags -o pan pan.c >cc.out 2>&1 &&
			./pan -m20000 $panflags >pan.out 2>&1
	) || true
	t1=$(date +%s.%N)
	if [ ! -s "$dir/pan.out" ]; then
		cat "$dir/spin.out" "$dir/cc.out" 2>/dev/null | grep -v "warning, 'timeout' in d_step" | head -20
		ok=0
		why="did not build or run"
	fi
	local errors stored matched trans secs
	errors=$(sed -n 's/.*errors: \([0-9]*\).*/\1/p' "$dir/pan.out" | head -1)
	stored=$(sed -n 's/^ *\([0-9.e+]*\) states, stored.*/\1/p' "$dir/pan.out" | head -1)
	matched=$(sed -n 's/^ *\([0-9.e+]*\) states, matched.*/\1/p' "$dir/pan.out" | head -1)
	trans=$(sed -n 's/^ *\([0-9.e+]*\) transitions.*/\1/p' "$dir/pan.out" | head -1)
	secs=$(sed -n 's/^pan: elapsed time \([0-9.e+]*\) seconds.*/\1/p' "$dir/pan.out" | head -1)
	if [ $ok = 1 ]; then
		if [ "$expect" = pass ]; then
			if [ "${errors:-x}" != 0 ]; then
				ok=0; why="found an error"
			elif grep -q "max search depth too small\|out of memory\|Search not completed" "$dir/pan.out"; then
				ok=0; why="search not complete"
			fi
		else
			if [ "${errors:-0}" = 0 ] || [ ! -f "$dir/dcc.pml.trail" ]; then
				ok=0; why="mutant NOT detected"
			elif ! grep -q "assertion violated" "$dir/pan.out"; then
				# a deadlock or a bad end state is not the property
				# the mutant is there to break
				ok=0; why="an error, but no assertion violated: $(grep -m1 '^pan:' "$dir/pan.out")"
			fi
		fi
	fi
	printf 'model: %-22s %-4s %11s states stored, %11s matched, %11s transitions, pan %6ss, total %5.1fs  [%s]\n' \
		"$name" "$expect" "${stored:-?}" "${matched:-?}" "${trans:-?}" "${secs:-?}" \
		"$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" "$flags"
	if [ -f "$dir/dcc.pml.trail" ]; then
		# shellcheck disable=SC2086
		(cd "$dir" && spin $flags -t dcc.pml 2>&1) |
			grep -E "^ *MSC:|assertion violated|text of failed" |
			sed -e 's/^ *MSC: */    /' -e 's/  *\(->\|lost\|duplicated\)/ \1/' >"$dir/trace.txt" || true
		grep -m1 "assertion violated" "$dir/pan.out" | sed 's/^/    /' || true
		if [ "$expect" = fail ]; then
			grep -v "assertion violated\|text of failed" "$dir/trace.txt" | head -40
		else
			head -60 "$dir/trace.txt"
		fi
	fi
	if [ $ok = 1 ]; then
		echo ok >"$dir/verdict"
	else
		echo "model: FAILED $name: $why (see $dir)"
		echo failed >"$dir/verdict"
	fi
}

B0="-DMAXCRASH=0 -DMAXLOSS=0 -DMAXDUP=0 -DMAXLINK=0"

# The protocol (with the three fixes, see dcc.pml), exhaustively.  One region
# is enough for everything but the floor (regions share nothing else: a
# push, an arm, a fetch are per region, the handover set is a mask), which
# the two-region run covers.
check handover-powercuts pass "-DNR=1 -DK=4 -DMAXMIG=2 -DMAXCRASH=2 -DMAXLOSS=0 -DMAXDUP=0 -DMAXLINK=0"
check lossy-link         pass "-DNR=1 -DK=3 -DMAXMIG=1 -DMAXCRASH=1 -DMAXLOSS=1 -DMAXDUP=1 -DMAXLINK=1"
# Two migrations under loss (3.5 M states, 40 s): by name only, to keep
# the test command within its time.
if [[ " ${only[*]} " == *" lossy-link-2mig "* ]]; then
	check lossy-link-2mig pass "-DNR=1 -DK=3 -DMAXMIG=2 -DMAXCRASH=0 -DMAXLOSS=1 -DMAXDUP=1 -DMAXLINK=1"
fi
check two-regions        pass "-DNR=2 -DK=3 -DMAXMIG=1 -DMAXCRASH=0 -DMAXLOSS=0 -DMAXDUP=0 -DMAXLINK=1"
check converges          pass "-DEND_CHECK -DNR=1 -DK=3 -DMAXMIG=2 -DMAXCRASH=1 -DMAXLOSS=0 -DMAXDUP=0 -DMAXLINK=1"

# Wider: crashes, loss, duplication and a link cut with two migrations
# (19.3 M states, 3.3 GB, about six minutes on one busy core): not in the
# test command; run it by name, tests/model/check.sh wide.
if [[ " ${only[*]} " == *" wide "* ]]; then
	check wide pass "-DNR=1 -DK=3 -DMAXMIG=2 -DMAXCRASH=1 -DMAXLOSS=1 -DMAXDUP=1 -DMAXLINK=1" -DMEMLIM=8000
fi

# A volume removed and created again within one dccd incarnation (MAXREREG,
# FIX_KEEP, DETACH: see dcc.pml), once: a lossy link with a duplicate and a
# migrate; two regions (the floor) with a duplicate; to the end (END_CHECK).
R="-DMAXREREG=1 -DNR=1 -DK=3 -DMAXCRASH=0"
check rereg-lossy        pass "$R -DMAXMIG=1 -DMAXLOSS=1 -DMAXDUP=1 -DMAXLINK=1"
check rereg-two-regions  pass "-DMAXREREG=1 -DNR=2 -DK=3 -DMAXMIG=0 -DMAXCRASH=0 -DMAXLOSS=0 -DMAXDUP=1 -DMAXLINK=0"
check rereg-converges    pass "-DEND_CHECK $R -DMAXMIG=1 -DMAXLOSS=0 -DMAXDUP=1 -DMAXLINK=0"

# Wider, by name only: two regions with a migrate (12.0 M states, about a
# minute); SYNC with a duplicate and a failover (10.5 M states, about 70 s).
if [[ " ${only[*]} " == *" rereg-wide-regions "* ]]; then
	check rereg-wide-regions pass "-DMAXREREG=1 -DNR=2 -DK=3 -DMAXMIG=1 -DMAXCRASH=0 -DMAXLOSS=0 -DMAXDUP=1 -DMAXLINK=0" -DMEMLIM=8000 -w26
fi

# Mutants: each must give a counterexample (breadth first: the shortest).
check mutant-C1          fail "-DMUTANT_C1 -DMAXMIG=0 $B0" -DBFS
check mutant-C1-clear    fail "-DMUTANT_C1_CLEAR -DMAXMIG=0 $B0" -DBFS
check mutant-H1          fail "-DMUTANT_H1 -DMAXMIG=1 -DMAXCRASH=1 -DMAXLOSS=0 -DMAXDUP=0 -DMAXLINK=0" -DBFS
check mutant-floor       fail "-DMUTANT_FLOOR -DNR=2 -DK=3 -DMAXMIG=0 -DMAXCRASH=0 -DMAXLOSS=0 -DMAXDUP=0 -DMAXLINK=1" -DBFS
check mutant-take-valid  fail "-DMUTANT_TAKE_VALID -DMAXMIG=1 $B0" -DBFS

# The protocol exactly as docs/protocol.md states it, one fix off at a time:
# each must show the flaw that fix repairs.
check flaw-no-dst        fail "-DNO_FIX_DST -DNO_D -DMAXMIG=0 -DMAXCRASH=1 -DMAXLOSS=0 -DMAXDUP=1 -DMAXLINK=0" -DBFS
check flaw-no-newest     fail "-DNO_FIX_NEWEST -DMAXMIG=1 -DMAXCRASH=0 -DMAXLOSS=0 -DMAXDUP=0 -DMAXLINK=1" -DBFS
check flaw-no-repair     fail "-DNO_FIX_REPAIR -DNO_D -DEND_CHECK -DMAXMIG=2 $B0" -DBFS
# FIX_KEEP (MAXREREG): whole, then only the newest statement seen (an
# experimental split: each part is needed).  FIX_DETACH is a liveness fix:
# every check passes without it, so there is no flaw-no-detach.
check flaw-no-keep       fail "-DNO_FIX_KEEP -DMAXREREG=1 -DMAXMIG=0 -DMAXCRASH=0 -DMAXLOSS=0 -DMAXDUP=1 -DMAXLINK=0" -DBFS
check flaw-no-keep-known fail "-DNO_KEEP_KNOWN -DMAXREREG=1 -DMAXMIG=1 -DMAXCRASH=0 -DMAXLOSS=0 -DMAXDUP=0 -DMAXLINK=1" -DBFS

# Failover (docs/failover-design.md), -DFAILOVER: leases, the witness,
# dccctl failover and --force, the old owner coming back, split brain and
# resolve, in ASYNC and in SYNC (see the FAILOVER part of dcc.pml's header).
F="-DFAILOVER -DNR=1 -DK=3 -DMAXDUP=0"
check fo-async           pass "$F -DMAXMIG=0 -DMAXFO=1 -DMAXCRASH=1 -DMAXLOSS=0 -DMAXLINK=1 -DMAXWCRASH=0"
check fo-twice           pass "$F -DMAXMIG=0 -DMAXFO=2 -DMAXCRASH=0 -DMAXLOSS=1 -DMAXLINK=0 -DMAXWCRASH=1"
# SYNC, sync writes beside the pushes (and, with CONFIRM, regions the
# replica confirmed cleared without a push).  One failover with a power
# cut anywhere (3.2 M states), and a failover back without one (3.5 M),
# each about 20 s; both at once (fo-sync-deep: 16.9 M states, about 3.5 GB and
# 90 s) by name only.  A handover in sync without a failover in the test
# command; with one (fo-sync-handover: 18.4 M states, 170 s) by name only.
check fo-sync            pass "$F -DSYNC -DMAXMIG=0 -DMAXFO=1 -DMAXCRASH=1 -DMAXLOSS=0 -DMAXLINK=0 -DMAXWCRASH=0" -DMEMLIM=8000 -w26
check fo-sync-back       pass "$F -DSYNC -DMAXMIG=0 -DMAXFO=2 -DMAXCRASH=0 -DMAXLOSS=0 -DMAXLINK=0 -DMAXWCRASH=0" -DMEMLIM=8000 -w26
if [[ " ${only[*]} " == *" fo-sync-deep "* ]]; then
	check fo-sync-deep pass "$F -DSYNC -DMAXMIG=0 -DMAXFO=2 -DMAXCRASH=1 -DMAXLOSS=0 -DMAXLINK=0 -DMAXWCRASH=0" -DMEMLIM=8000 -w26
fi
check sync-handover      pass "$F -DSYNC -DMAXMIG=1 -DMAXFO=0 -DMAXCRASH=0 -DMAXLOSS=0 -DMAXLINK=0 -DMAXWCRASH=0"
# The other single failures in sync, each with a failover: a link loss
# seen by one site, a message lost, a power cut of the witness.
check fo-sync-link       pass "$F -DSYNC -DMAXMIG=0 -DMAXFO=1 -DMAXCRASH=0 -DMAXLOSS=0 -DMAXLINK=1 -DMAXWCRASH=0" -DMEMLIM=8000 -w26
check fo-sync-loss       pass "$F -DSYNC -DMAXMIG=0 -DMAXFO=1 -DMAXCRASH=0 -DMAXLOSS=1 -DMAXLINK=0 -DMAXWCRASH=0" -DMEMLIM=8000 -w26
check fo-sync-wcrash     pass "$F -DSYNC -DMAXMIG=0 -DMAXFO=1 -DMAXCRASH=0 -DMAXLOSS=0 -DMAXLINK=0 -DMAXWCRASH=1" -DMEMLIM=8000 -w26
if [[ " ${only[*]} " == *" fo-sync-handover "* ]]; then
	check fo-sync-handover pass "$F -DSYNC -DMAXMIG=1 -DMAXFO=1 -DMAXCRASH=0 -DMAXLOSS=0 -DMAXLINK=0 -DMAXWCRASH=0" -DMEMLIM=8000 -w26
fi
check fo-force           pass "$F -DEND_CHECK -DMAXMIG=0 -DMAXFO=0 -DMAXFORCE=1 -DMAXRESOLVE=1 -DMAXCRASH=0 -DMAXLOSS=0 -DMAXLINK=0 -DMAXWCRASH=0"
# Resolve at either site, to the end: resolves at both that crossed; the
# newer site recording the split from the older one's ATTACH whose answer
# is lost or overtaken (a link loss makes the older site ask first).
check fo-resolve-cross   pass "$F -DEND_CHECK -DMAXMIG=0 -DMAXFO=0 -DMAXFORCE=1 -DMAXRESOLVE=2 -DMAXCRASH=0 -DMAXLOSS=0 -DMAXLINK=0 -DMAXWCRASH=0"
check fo-resolve-lost    pass "$F -DEND_CHECK -DMAXMIG=0 -DMAXFO=0 -DMAXFORCE=1 -DMAXRESOLVE=1 -DMAXCRASH=0 -DMAXLOSS=0 -DMAXLINK=1 -DMAXWCRASH=0"
# A force, then a failover without --force at the forced owner's replica
# (refused, FIX_FORCED_LEASE: flaw-forced-lease below without it).
check fo-forced-lease    pass "$F -DMAXMIG=0 -DMAXFO=1 -DMAXFORCE=1 -DMAXRESOLVE=0 -DMAXCRASH=0 -DMAXLOSS=0 -DMAXLINK=0 -DMAXWCRASH=0"
# Wider, by name only: a force and a failover, to the end (15.7 M states,
# about 110 s), and with a power cut (fo-forced-crash: 20.5 M states,
# about 140 s; a restarted replica refuses until paired again); a
# force and a handover (more than 42 M states since the resolve at
# either site: 8 GB do not complete it); two forces and a resolve (30.8 M
# states, 5 GB, about two minutes).
if [[ " ${only[*]} " == *" fo-wide-force "* ]]; then
	check fo-wide-force    pass "$F -DEND_CHECK -DMAXMIG=0 -DMAXFO=1 -DMAXFORCE=1 -DMAXCRASH=0 -DMAXLOSS=0 -DMAXLINK=0 -DMAXWCRASH=0" -DMEMLIM=8000
fi
if [[ " ${only[*]} " == *" fo-forced-crash "* ]]; then
	check fo-forced-crash  pass "$F -DMAXMIG=0 -DMAXFO=1 -DMAXFORCE=1 -DMAXRESOLVE=0 -DMAXCRASH=1 -DMAXLOSS=0 -DMAXLINK=0 -DMAXWCRASH=0" -DMEMLIM=8000 -w26
fi
if [[ " ${only[*]} " == *" fo-force-twice "* ]]; then
	check fo-force-twice   pass "$F -DEND_CHECK -DMAXMIG=0 -DMAXFO=0 -DMAXFORCE=2 -DMAXRESOLVE=1 -DMAXCRASH=0 -DMAXLOSS=0 -DMAXLINK=0 -DMAXWCRASH=0" -DMEMLIM=8000 -w26
fi
if [[ " ${only[*]} " == *" fo-wide-handover "* ]]; then
	check fo-wide-handover pass "$F -DEND_CHECK -DMAXMIG=1 -DMAXFO=0 -DMAXFORCE=1 -DMAXCRASH=0 -DMAXLOSS=0 -DMAXLINK=0 -DMAXWCRASH=0" "-DMEMLIM=16000 -DCOLLAPSE" -w27
fi
# ... and with failover: a failover; SYNC with a failover; SYNC with a
# duplicate (sync writes taken after the volume came back).
FR="-DFAILOVER -DMAXREREG=1 -DNR=1 -DK=3 -DMAXMIG=0 -DMAXCRASH=0 -DMAXLOSS=0 -DMAXLINK=0 -DMAXWCRASH=0"
check rereg-fo-async     pass "$FR -DMAXDUP=0 -DMAXFO=1"
check rereg-fo-sync      pass "$FR -DSYNC -DMAXDUP=0 -DMAXFO=1"
check rereg-sync-dup     pass "$FR -DSYNC -DMAXDUP=1 -DMAXFO=0"
if [[ " ${only[*]} " == *" rereg-fo-sync-wide "* ]]; then
	check rereg-fo-sync-wide pass "$FR -DSYNC -DMAXDUP=1 -DMAXFO=1" -DMEMLIM=8000 -w26
fi
F0="$F -DMAXMIG=0 -DMAXCRASH=0 -DMAXLOSS=0 -DMAXLINK=0 -DMAXWCRASH=0"
check mutant-fo-nowait   fail "$F0 -DMUTANT_NOWAIT" -DBFS
check mutant-fo-receipt  fail "$F0 -DMUTANT_RECEIPT" -DBFS
check mutant-fo-twice    fail "$F -DMUTANT_TWICE -DMAXMIG=0 -DMAXCRASH=0 -DMAXLOSS=0 -DMAXLINK=0 -DMAXWCRASH=1" -DBFS
check mutant-sync-ack    fail "$F -DSYNC -DMUTANT_SYNC_ACK -DMAXMIG=0 -DMAXCRASH=1 -DMAXLOSS=0 -DMAXLINK=0 -DMAXWCRASH=0" -DBFS
check mutant-sync-order  fail "$F0 -DSYNC -DMUTANT_SYNC_ORDER -DMAXFO=1" -DBFS
check mutant-fo-hydrate  fail "$F0 -DSYNC -DMUTANT_NOHYDRATE -DMAXFO=2" -DBFS
check flaw-fo-attempt    fail "$F0 -DNO_FIX_ATTEMPT -DMAXFO=2" -DBFS
check flaw-no-keep-sync  fail "$FR -DSYNC -DNO_FIX_KEEP -DMAXDUP=1 -DMAXFO=0" -DBFS
check mutant-fo-nosplit  fail "$F0 -DMUTANT_NOSPLIT -DMAXFO=0 -DMAXFORCE=1 -DMAXRESOLVE=0" -DBFS
# Rules 15 and 16 as before dccd's review (only an older site that
# recorded the split): after a lost or overtaken answer, rule 11.
check mutant-resolve-recorded fail "$F -DMUTANT_RECORDED_ONLY -DMAXMIG=0 -DMAXFO=0 -DMAXFORCE=1 -DMAXRESOLVE=1 -DMAXCRASH=0 -DMAXLOSS=0 -DMAXLINK=1 -DMAXWCRASH=0" -DBFS
# Resolves at both sites that crossed, then --force at the newer one
# before they meet: a replica of S meets an owner of S+2.  Rules 17 and
# 18 pair them; without them (NO_FIX_BEHIND) rule 11 at both.
# The passing run is large: by name only, on a machine with 24 GB.  An
# exhaustive search: 82,391,307 states, no error, 19.0 GB, 11 minutes
# (measured with -DCOLLAPSE, which saved nothing here: pan put the same
# states at 15.1 GB uncompressed, plus 2 GB of hash table).
# (Hash compaction, -DHC4, fits in 5 GB but took 7.6 M of those states
# for ones already seen: not a proof.)
XF="$F -DEND_CHECK -DMAXMIG=0 -DMAXFO=0 -DMAXFORCE=2 -DMAXRESOLVE=2 -DMAXCRASH=0 -DMAXLOSS=0 -DMAXLINK=0 -DMAXWCRASH=0"
if [[ " ${only[*]} " == *" fo-cross-force "* ]]; then
	check fo-cross-force pass "$XF" -DMEMLIM=21000 -w28
fi
check flaw-cross-force   fail "$XF -DNO_FIX_BEHIND" -DBFS
# (l) the copies end equal: rule 12 keeping the old owner's writes as
# valid (not fetched back from the new owner) leaves them different.
check mutant-keep-dirty  fail "$F0 -DEND_CHECK -DMUTANT_KEEP_DIRTY -DMAXFO=1" -DBFS
# Without FIX_FORCED_LEASE (ab837b7), a forced owner's replica fails over
# while the forced owner, which needs no lease, writes on: (g) fails.
check flaw-forced-lease  fail "$F0 -DMAXFO=1 -DMAXFORCE=1 -DMAXRESOLVE=0 -DNO_FIX_FORCED_LEASE" -DBFS
# The kernel's lease flag set only by the new owner's first lease, after
# the persist (dccd before the fix of the lease review's #6): a site that
# never owned serves without a lease until its dccd tells its kernel, and
# its replica fails over meanwhile: (f) fails (it writes on after the
# other site owns a newer generation).
check mutant-flag-late   fail "$F0 -DMAXFO=2 -DMUTANT_FLAG_LATE" -DBFS

# The owner's report (-DLAG, in ASYNC): PROGRESS, kept by the replica as
# dccd keeps it, and refusal 2's second half, with (m): a failover that
# refusal 2 lets through loses no write acknowledged before the owner
# counted the last report the replica took.  Three link losses, each seen
# by one site (a report, or the owner's ATTACH, sent before the sites were
# apart arrives after they paired again): with SINCE_PAIRED no write made
# apart is lost either, and with SINCE_UNPAIRED (n) no report counted
# before the replica last stopped being paired is taken once it paired
# again (3.7 M states, about 20 s).  And a power cut (a restarted replica
# has no report).  Wider, by name only, all with (n): both (lag-async,
# with SINCE_PAIRED: 3.9 M states, about 25 s), a handover (lag-handover:
# 6.3 M states, about 40 s) and a failover back (lag-twice, with
# SINCE_PAIRED: 5.2 M states, about 30 s).
L="$F -DLAG -DMAXFO=1 -DMAXLOSS=0 -DMAXWCRASH=0"
check lag-links          pass "$L -DMAXMIG=0 -DMAXCRASH=0 -DMAXLINK=3 -DSINCE_PAIRED -DSINCE_UNPAIRED" "" -w25
check lag-crash          pass "$L -DMAXMIG=0 -DMAXCRASH=1 -DMAXLINK=0 -DSINCE_UNPAIRED"
if [[ " ${only[*]} " == *" lag-async "* ]]; then
	check lag-async pass "$L -DMAXMIG=0 -DMAXCRASH=1 -DMAXLINK=1 -DSINCE_PAIRED -DSINCE_UNPAIRED"
fi
if [[ " ${only[*]} " == *" lag-handover "* ]]; then
	check lag-handover pass "$L -DMAXMIG=1 -DMAXCRASH=0 -DMAXLINK=0 -DSINCE_UNPAIRED" -DMEMLIM=8000 -w26
fi
if [[ " ${only[*]} " == *" lag-twice "* ]]; then
	check lag-twice pass "$F -DLAG -DMAXFO=2 -DMAXLOSS=0 -DMAXWCRASH=0 -DMAXMIG=0 -DMAXCRASH=0 -DMAXLINK=1 -DSINCE_PAIRED -DSINCE_UNPAIRED" -DMEMLIM=8000 -w26
fi
# A region whose push is unanswered counted as the same at both sites:
# the replica takes a report of none before the push and fails over
# without the write.  And without FIX_PROG_PAIRING, the writes the owner
# made while apart, which dccd forgets the report at pairing for
# (SINCE_PAIRED, which lag-links checks with the fix): a report sent before
# the sites were apart, taken after they paired again, says none of them
# (a flaw of dccd's until the fix; see dcc.pml).
check mutant-prog-push   fail "$L -DMAXMIG=0 -DMAXCRASH=0 -DMAXLINK=0 -DMUTANT_PROG_PUSH" -DBFS
check flaw-prog-pairing  fail "$L -DMAXMIG=0 -DMAXCRASH=0 -DMAXLINK=2 -DSINCE_PAIRED -DNO_FIX_PROG_PAIRING" -DBFS
# A cover check, which must fail: with the fix, a site that paired again
# still takes the owner's next report and fails over on it (the fix does
# not just refuse every report after a pairing).
check cover-fresh-report fail "$L -DMAXMIG=0 -DMAXCRASH=0 -DMAXLINK=2 -DCOVER_FRESH" -DBFS
# With the first form of the fix (a floor from any statement of the
# owner's, -DNO_FIX_OWN_ATTACH), an ATTACH the owner sent before the sites
# were apart pairs the replica again late and lets in a report counted
# before the link loss: (n) fails (SINCE_UNPAIRED).
check flaw-late-attach   fail "$L -DMAXMIG=0 -DMAXCRASH=0 -DMAXLINK=3 -DSINCE_UNPAIRED -DNO_FIX_OWN_ATTACH" -DBFS
# And a replica that, paired on the owner's ATTACH, kept its own ATTACH
# still out: the answer, made before the owner last wrote apart, sets a
# floor that lets in a report counted before those writes: (m) fails.
check mutant-keep-attach fail "$L -DMAXMIG=0 -DMAXCRASH=0 -DMAXLINK=3 -DSINCE_PAIRED -DMUTANT_KEEP_ATTACH" -DBFS

# on_peer_loss = continue (-DCONTINUE): the owner goes on alone once the
# witness fenced its replica; one OUTDATE and a failover; the fence left
# out, lifted early, or lifted by an UPTODATE older than the fence, or by
# one sent once the answer to a push read before presync was read took its
# region out (CROSSING_PUSH: such a push may exist).
C="$F0 -DSYNC -DCONTINUE -DMAXFO=1"
check continue-sync      pass "$C -DMAXOUT=1" -DMEMLIM=8000 -w26
check mutant-nofence     fail "$C -DMAXOUT=1 -DMUTANT_NOFENCE" -DBFS
check mutant-early-clear fail "$C -DMAXOUT=1 -DMUTANT_EARLY_CLEAR" -DBFS
check flaw-no-epoch      fail "$C -DMAXOUT=2 -DNO_FIX_EPOCH" -DBFS
check mutant-stale-push  fail "$C -DMAXOUT=1 -DCROSSING_PUSH -DMUTANT_STALE_PUSH" -DBFS
# CONFIRM: a region whose writes the peer all confirmed is cleared without
# a push; one acknowledged alone (or failed) must not be.
check mutant-confirm-unc fail "$C -DMAXOUT=1 -DMUTANT_CONFIRM_UNC" -DBFS
check mutant-confirm-held fail "$C -DMAXOUT=1 -DMUTANT_CONFIRM_HELD" -DBFS
# Two OUTDATEs (36.5 M states, about four and a half minutes), by name
# only.
if [[ " ${only[*]} " == *" continue-sync-2 "* ]]; then
	check continue-sync-2 pass "$C -DMAXOUT=2" -DMEMLIM=8000 -w26
fi
# A push that crosses the moment presync is read is safe with presync_seq
# (8.7 M states, about 40 s), by name only.
if [[ " ${only[*]} " == *" continue-cross "* ]]; then
	check continue-cross pass "$C -DMAXOUT=1 -DCROSSING_PUSH" -DMEMLIM=8000 -w26
fi
# A power cut of either site as well, so that the owner forgets its epoch
# and learns it again (FIX_LEARN) before a failover (67.4 M states, 12 GB
# with COLLAPSE, about ten minutes), by name only.
if [[ " ${only[*]} " == *" continue-sync-crash "* ]]; then
	check continue-sync-crash pass "$F -DSYNC -DCONTINUE -DMAXFO=1 -DMAXOUT=1 -DMAXMIG=0 -DMAXCRASH=1 -DMAXLOSS=0 -DMAXLINK=0 -DMAXWCRASH=0" "-DMEMLIM=16000 -DCOLLAPSE" -w27
fi
# ... to the end (END_CHECK, (j)): paired and caught up, the owner lifted
# its fence, also after a power cut that made it forget the epoch (and the
# witness link losing any UPTODATE before the stop); without FIX_LEARN it
# never does.  (A power cut of the witness changes nothing here, its fence
# being persisted before it answers: MAXWCRASH=1 passes, 9.2 M states.)
# With a failover instead of the power cut (10.6 M states, about 40 s): by
# name only.
CE="$F -DSYNC -DCONTINUE -DEND_CHECK -DMAXMIG=0 -DMAXLOSS=0 -DMAXLINK=0 -DMAXWCRASH=0 -DMAXOUT=1"
check continue-end       pass "$CE -DMAXFO=0 -DMAXCRASH=1"
check flaw-no-learn      fail "$CE -DMAXFO=0 -DMAXCRASH=1 -DNO_FIX_LEARN" -DBFS
if [[ " ${only[*]} " == *" continue-end-fo "* ]]; then
	check continue-end-fo pass "$CE -DMAXFO=1 -DMAXCRASH=0" -DMEMLIM=8000 -w26
fi
# Without FIX_PRESYNC (dccd's since 1f5dcce): presync read while a push
# of a dirty region crosses that moment (CROSSING_PUSH; dccd's switch
# from async to sync) kept the region once its dirty bit was cleared, and
# the fence was never lifted: (j) fails.  With it the fence is lifted, a
# power cut too (7.5 M states, about 30 s), and safe (by name only).
check flaw-presync       fail "$CE -DMAXFO=0 -DMAXCRASH=0 -DCROSSING_PUSH -DNO_CONFIRM" -DBFS
if [[ " ${only[*]} " == *" fix-presync-end "* ]]; then
	check fix-presync-end pass "$CE -DMAXFO=0 -DMAXCRASH=1 -DCROSSING_PUSH -DFIX_PRESYNC"
fi
if [[ " ${only[*]} " == *" fix-presync-sync "* ]]; then
	check fix-presync-sync pass "$C -DMAXOUT=1 -DCROSSING_PUSH -DFIX_PRESYNC" -DMEMLIM=8000 -w26
fi

# AHEAD (FIX_AHEAD, SYNC): a forced failover meets the old owner, whose
# evidence of a split brain is its AHEAD flag and an unconfirmed region,
# not any dirty region (confirmed regions may stay dirty: warm).  Without
# CONTINUE nothing is acknowledged alone and every force ends at rule 12,
# to the end (1.6 M states, about 10 s).  With CONTINUE, and a power cut
# after the force, the forced owner writing nothing (QUIET_FORCED and
# CUTS_AFTER_FORCE, bounds: see dcc.pml; 4.3 M states, about 30 s on a
# busy core).
CF="$F -DSYNC -DCONTINUE -DMAXMIG=0 -DMAXLOSS=0 -DMAXLINK=0 -DMAXWCRASH=0 -DMAXOUT=1 -DMAXFO=0 -DMAXFORCE=1"
check sync-force         pass "$F0 -DSYNC -DEND_CHECK -DMAXFO=0 -DMAXFORCE=1 -DMAXRESOLVE=0"
check continue-force     pass "$CF -DMAXRESOLVE=0 -DMAXCRASH=1 -DQUIET_FORCED -DCUTS_AFTER_FORCE" "" -w25
# The flag left out of the alone acknowledgement's step (persisted by a
# later one, which a power cut comes before), or cleared while another
# region is unconfirmed (two regions: 5.5 M states, 2.6 GB, about 15 s):
# the old owner drops at rule 12 a write it acknowledged alone, (g).
check mutant-ahead-late  fail "$CF -DMAXRESOLVE=0 -DMAXCRASH=1 -DQUIET_FORCED -DCUTS_AFTER_FORCE -DMUTANT_AHEAD_LATE" -DBFS
CF2="-DFAILOVER -DNR=2 -DK=3 -DMAXDUP=0 -DSYNC -DCONTINUE -DMAXMIG=0 -DMAXLOSS=0 -DMAXLINK=0 -DMAXWCRASH=0 -DMAXOUT=1 -DMAXFO=0 -DMAXFORCE=1"
check mutant-ahead-clear fail "$CF2 -DMAXRESOLVE=0 -DMAXCRASH=0 -DQUIET_FORCED -DMUTANT_AHEAD_CLEAR" "-DBFS -DMEMLIM=8000" -w25
# Today's evidence (-DNO_FIX_AHEAD: any dirty region): a force meets an
# old owner whose dirty region holds no write acknowledged alone (a write
# still held, or a warm one), and both record a split brain: (o) fails.
check flaw-no-ahead      fail "$F0 -DSYNC -DNO_FIX_AHEAD -DMAXFO=0 -DMAXFORCE=1 -DMAXRESOLVE=0" -DBFS
# Wider, by name only: to the end, with a resolve (29.5 M states, 6.4 GB,
# about three minutes); without the bounds and without the power cut
# (continue-force-wide: 16.8 M states, about two minutes; with it, more
# than 37.7 M states, not completed in 8 GB); without CONTINUE, a power
# cut anywhere, to the end (sync-force-crash: 13.4 M states, about 70 s).
if [[ " ${only[*]} " == *" continue-force-end "* ]]; then
	check continue-force-end pass "$CF -DEND_CHECK -DMAXRESOLVE=1 -DMAXCRASH=1 -DQUIET_FORCED -DCUTS_AFTER_FORCE" -DMEMLIM=8000 -w26
fi
if [[ " ${only[*]} " == *" continue-force-wide "* ]]; then
	check continue-force-wide pass "$CF -DMAXRESOLVE=0 -DMAXCRASH=0" -DMEMLIM=8000 -w26
fi
if [[ " ${only[*]} " == *" sync-force-crash "* ]]; then
	check sync-force-crash pass "$F -DSYNC -DEND_CHECK -DMAXMIG=0 -DMAXLOSS=0 -DMAXLINK=0 -DMAXWCRASH=0 -DMAXFO=0 -DMAXFORCE=1 -DMAXRESOLVE=1 -DMAXCRASH=1" -DMEMLIM=8000 -w26
fi

wait
passed=0
failed=0
for name in "${names[@]}"; do
	cat "$out/$name.log"
	if [ "$(cat "$out/$name/verdict" 2>/dev/null)" = ok ]; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
	fi
done
echo "model: $passed checks passed, $failed failed"
[ "$failed" = 0 ]
