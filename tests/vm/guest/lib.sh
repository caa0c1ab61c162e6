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
		[ -f /tmp/dccd.log ] && tail -n 20 /tmp/dccd.log
		return 1
	fi
}

# refuse_saying "what" TEXT cmd...: the command must fail, and say TEXT
# (so that it failed for the reason the scenario means).
refuse_saying() {
	local what=$1 text=$2 rc=0
	shift 2
	"$@" >/tmp/check.out 2>&1 || rc=$?
	echo "$rc" >/tmp/check.rc
	if [ "$rc" = 0 ]; then
		bad "$what (it succeeded)"
		head -n 20 /tmp/check.out
	elif [ -n "$text" ] && ! grep -qF -- "$text" /tmp/check.out; then
		bad "$what (it failed without saying '$text')"
		head -n 20 /tmp/check.out
	else ok "$what"; fi
}

# refuse "what" cmd...: the command must fail, for any reason.
refuse() {
	local what=$1
	shift
	refuse_saying "$what" "" "$@"
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

# A field of the dcc status line of volume NAME, by its name (dcctest field
# parses it with libctl's parser): status_field NAME FIELD.
status_field() { dcctest field "$1" "$2"; }
valid_count() { status_field "$1" valid; }
dirty_count() { status_field "$1" dirty; }
locked_count() { status_field "$1" locked; }
role_of() { status_field "$1" role; }
mode_of() { status_field "$1" mode; }
misses_of() { status_field "$1" misses; }
timeouts_of() { status_field "$1" timeouts; }
# valid/regions, as "1024/1024"
valid_of() { echo "$(status_field "$1" valid)/$(status_field "$1" regions)"; }
# Predicates for wait_until: is_field NAME FIELD VALUE, at_least NAME FIELD N
is_field() { [ "$(status_field "$1" "$2")" = "$3" ]; }
at_least() { [ "$(status_field "$1" "$2")" -ge "$3" ]; }
is_valid() { [ "$(valid_of "$1")" = "$2" ]; }

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

registered() { [ "$(status_field "$1" registration)" != - ]; }
unregistered() { [ "$(status_field "$1" registration)" = - ]; }
running() { kill -0 "$1" 2>/dev/null; }
# The fill tool stopped itself at a stage (--pause-at).
paused_at() { grep -q "paused at $2" "$1"; }

# ---- two sites ----------------------------------------------------------
# Test-only CURVE keys, one pair per site (never use these anywhere else).
KEY_PUB_a=']zzxaC72JTq68@ceWw%t-4Mh6p=8bB-1NmX>pQ4g'
KEY_SEC_a='lODNJx8>.%L!ZYN2w$9q?V-S0@Nv[}ktS9z2mWf&'
KEY_PUB_b='YGOv2r11aCGu+gdr]$jhbwn<NIK/1AR*3^i43x{N'
KEY_SEC_b='SzBJIcpN6[9ZPC9lF:%BnN5mQ+:)8:tP*x{h:WSo'
SITE=${DCC_SITE:-}
PEER=$([ "$SITE" = a ] && echo b || echo a)

# Write this site's dccd configuration: dccd_config [extra toml lines]
dccd_config() {
	local pub sec peerpub
	eval "pub=\$KEY_PUB_$SITE sec=\$KEY_SEC_$SITE peerpub=\$KEY_PUB_$PEER"
	mkdir -p /etc/dcc
	{
		printf 'site = "%s"\n' "$SITE"
		printf 'listen = "tcp://%s:7788"\nlisten_bulk = "tcp://%s:7789"\n' "$DCC_IP" "$DCC_IP"
		printf 'peer = "tcp://%s:7788"\npeer_bulk = "tcp://%s:7789"\n' "$DCC_PEER_IP" "$DCC_PEER_IP"
		printf 'secret_key = "%s"\npublic_key = "%s"\npeer_public_key = "%s"\n' "$sec" "$pub" "$peerpub"
		# Fast link-loss detection for the tests, unless the scenario says.
		case " $* " in *link_timeout_ms*) ;; *) printf 'heartbeat_ms = 500\nlink_timeout_ms = 3000\n' ;; esac
		for l in "$@"; do printf '%s\n' "$l"; done
	} >/etc/dcc/dccd.toml
}

# start_dccd [CRASH_POINT]: with a crash point, dccd kills itself there
# (DCCD_CRASH_AT, see dccd(8)).
start_dccd() {
	rm -f /run/dcc/dccd.sock
	if [ -n "${1:-}" ]; then
		DCCD_CRASH_AT=$1 dccd --config /etc/dcc/dccd.toml 2>>/tmp/dccd.log &
	else
		dccd --config /etc/dcc/dccd.toml 2>>/tmp/dccd.log &
	fi
	DCCD=$!
	wait_until 20 test -S /run/dcc/dccd.sock
}

# The daemon died (a crash point, kill -9): reap it.
dccd_died() { ! kill -0 "$DCCD" 2>/dev/null; }
kill9_dccd() {
	kill -KILL "$DCCD" 2>/dev/null
	wait "$DCCD" 2>/dev/null
	rm -f /run/dcc/dccd.sock
}

# role and generation of a volume, as "owner 3"
role_gen() { echo "$(role_of "$1") $(status_field "$1" generation)"; }

stop_dccd() {
	kill -TERM "$DCCD" 2>/dev/null
	wait "$DCCD" 2>/dev/null
}

# Exchange a value with the peer site over the link (port per name):
# both sites call exchange NAME VALUE and get the peer's value back.
exchange() {
	local port=$((9000 + 0x$(echo "$1" | md5sum | cut -c1-4) % 500)) got t=0
	if [ "$SITE" = a ]; then
		got=$(echo "$2" | nc -l -p $port)
	else
		while [ $t -lt 600 ]; do
			got=$(echo "$2" | nc 10.99.0.1 $port 2>/dev/null) && [ -n "$got" ] && break
			sleep 0.5
			t=$((t + 1))
		done
	fi
	echo "$got"
}

# Both sites reach the same point before either goes on.
barrier() {
	[ "$(exchange "barrier-$1" "$1")" = "$1" ] && ok "both sites reached '$1'" || bad "barrier '$1' failed"
}

# The daemon was started with a crash point: once it died there, this VM
# loses its power at once (the rig kills QEMU; nothing is synced).
powercut_on_crash() {
	wait_until 60 dccd_died || bad "dccd did not die at its crash point"
	echo "DCC-KILL-ME"
	sleep 600
}
