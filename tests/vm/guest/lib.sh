# SPDX-License-Identifier: GPL-2.0-only
# Guest-side helpers for the scenarios; sourced.  Busybox's sh runs its own
# applets for bare names, so the real tools are called by full path.

DD=/usr/bin/dd
failures=0

# Disks in the order the scenario's "# disks:" line names them.
i=0
for d in $(echo "${DCC_DISKS:-}" | tr ',' ' '); do
	dev=/dev/vd$(echo abcdefghij | cut -c$((i + 1)))
	eval "$(echo "$d" | tr 'a-z' 'A-Z')=$dev"
	i=$((i + 1))
done

ok() { echo "DCC-CHECK ok: $*"; }
bad() {
	echo "DCC-CHECK FAIL: $*"
	failures=$((failures + 1))
}

# check "what" cmd...: the command must succeed.
check() {
	local what=$1
	shift
	if "$@" >/tmp/check.out 2>&1; then ok "$what"; else
		bad "$what"
		head -n 20 /tmp/check.out
	fi
}

# refuse "what" cmd...: the command must fail.
refuse() {
	local what=$1
	shift
	if "$@" >/tmp/check.out 2>&1; then
		bad "$what (it succeeded)"
		head -n 20 /tmp/check.out
	else ok "$what"; fi
}

# expect_eq "what" expected actual
expect_eq() {
	if [ "$2" = "$3" ]; then ok "$1 ($3)"; else bad "$1: expected '$2', got '$3'"; fi
}

finish() {
	echo "DCC-SUMMARY failures=$failures"
	[ "$failures" = 0 ]
	exit $?
}

sectors() { blockdev --getsz "$1"; }

# dcc_create NAME DATA META [features...]
dcc_create() {
	local name=$1 data=$2 meta=$3
	shift 3
	dmsetup create "$name" --table "0 $(sectors "$data") dcc $data $meta $*" &&
		[ -b "/dev/mapper/$name" ]
}

# Field N (1-based) of the dcc status line of NAME.
status_field() { dmsetup status "$1" | awk -v n="$2" '{print $(n + 3)}'; }
valid_count() { status_field "$1" 2 | cut -d/ -f1; }
dirty_count() { status_field "$1" 3; }
locked_count() { status_field "$1" 4; }
role_of() { status_field "$1" 5; }
mode_of() { status_field "$1" 7; }
misses_of() { status_field "$1" 9; }
timeouts_of() { status_field "$1" 10; }

# wait_until SECONDS cmd...: poll until cmd succeeds.
wait_until() {
	local t=$(($1 * 10))
	shift
	while [ $t -gt 0 ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
		t=$((t - 1))
	done
	return 1
}

# A region's bytes, O_DIRECT, as a checksum.  region_sum DEV REGION [KIB]
region_sum() {
	local kib=${3:-64}
	$DD if="$1" bs=${kib}k skip="$2" count=1 iflag=direct status=none | sha256sum | cut -d' ' -f1
}

# The last kernel message matching a pattern, after a marker.
dmesg_has() { dmesg | grep -F -- "$1" >/dev/null; }

# Random content: fill_random DEV MIB
fill_random() {
	$DD if=/dev/urandom of="$1" bs=1M count="$2" oflag=direct status=none
}

registered() { [ "$(status_field "$1" 8)" != - ]; }
unregistered() { [ "$(status_field "$1" 8)" = - ]; }
running() { kill -0 "$1" 2>/dev/null; }
# The fill tool stopped itself at a stage (--pause-at).
paused_at() { grep -q "paused at $2" "$1"; }
