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

# Each check ends with the guest's uptime: where a scenario's time goes.
uptime_s() { local u _; read -r u _ </proc/uptime; echo "$u"; }
ok() { echo "DCC-CHECK ok: $* [$(uptime_s)s]"; }
bad() {
	echo "DCC-CHECK FAIL: $* [$(uptime_s)s]"
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
# load_extra NAME [PARAM...]: load a module copied but not loaded at boot
# (brd, drbd), after the modules it needs; the parameters are NAME's.
load_extra() {
	local name=$1 m
	shift
	for m in $(cat "/lib/modules/$name.order"); do
		[ -d "/sys/module/$(basename "$m" .ko | tr - _)" ] && continue
		if [ "$m" = "$name.ko" ]; then insmod "/lib/modules/$m" "$@" || return 1
		else insmod "/lib/modules/$m" || return 1; fi
	done
}

# The concise table list (dmsetup create --concise) of N devices of one
# kind, numbered from 1: d (SECTORS of $DATA each), m (128 sectors of
# $META each) or v (dcc volumes of SECTORS over dI and mI), so that each
# kind is created by one process (a process costs much in a TCG guest):
# concise_specs KIND N SECTORS
concise_specs() {
	local i=1 sep=
	while [ $i -le "$2" ]; do
		case $1 in
		d) printf '%sd%d,,,rw,0 %d linear %s %d' "$sep" $i "$3" "$DATA" $(((i - 1) * $3)) ;;
		m) printf '%sm%d,,,rw,0 128 linear %s %d' "$sep" $i "$META" $(((i - 1) * 128)) ;;
		v) printf '%sv%d,,,rw,0 %d dcc /dev/mapper/d%d /dev/mapper/m%d' "$sep" $i "$3" $i $i ;;
		esac
		sep=';'
		i=$((i + 1))
	done
}

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

# ---- two sites (and three: see the links below) --------------------------
# Test-only CURVE keys, one pair per site (never use these anywhere else).
KEY_PUB_a=']zzxaC72JTq68@ceWw%t-4Mh6p=8bB-1NmX>pQ4g'
KEY_SEC_a='lODNJx8>.%L!ZYN2w$9q?V-S0@Nv[}ktS9z2mWf&'
KEY_PUB_b='YGOv2r11aCGu+gdr]$jhbwn<NIK/1AR*3^i43x{N'
KEY_SEC_b='SzBJIcpN6[9ZPC9lF:%BnN5mQ+:)8:tP*x{h:WSo'
KEY_PUB_w='4O(x2cbxGt]Z?zJxRYHeIm+>u2+A81oH6lWr([2:'
KEY_SEC_w='I/#c!FgKBOBWbu%}n[1YS0-&No}w]jL{fzcqVGkt'
SITE=${DCC_SITE:-}
PEER=$([ "$SITE" = a ] && echo b || echo a)
# How many sites the scenario has (its "# sites:" line): 1, 2 or 3.
SITES=${DCC_SITES:-$([ -n "$SITE" ] && echo 2 || echo 1)}
[ "$SITE" = w ] && PEER=

# ---- links and addresses (two or three sites) ----------------------------
# "# sites: 3" boots a, b and w (a witness site), with one link between each
# two: ab, aw and bw, each a NIC of its own at both ends and a subnet of its
# own (no routing between them).  Site X's address on link L is IP_X_L:
IP_a_ab=10.99.0.1 IP_b_ab=10.99.0.2
IP_a_aw=10.99.1.1 IP_w_aw=10.99.1.3
IP_b_bw=10.99.2.2 IP_w_bw=10.99.2.3
# At a and b, ab is eth0 and DCC_IP and DCC_PEER_IP are their ab addresses,
# as in a pair (so dccd_config is the same); eth1 is their link to w, and
# WITNESS_IP is w's address there (IP_w_aw at a, IP_w_bw at b).  A pair has
# only ab (IP_a_ab, IP_b_ab).
# The link between this site and X: link_to X -> ab, aw or bw.
link_to() {
	case $SITE$1 in ab | ba) echo ab ;; aw | wa) echo aw ;; bw | wb) echo bw ;; *) return 1 ;; esac
}
# X's address as this site reaches it, over their link: ip_of X.
ip_of() {
	local l
	l=$(link_to "$1") && eval "echo \$IP_${1}_$l"
}
WITNESS_IP=
[ "$SITES" = 3 ] && [ "$SITE" != w ] && WITNESS_IP=$(ip_of w)
# Whether this site gets an answer from X (one ping, 1 s): reaches X.
reaches() { ping -c 1 -W 1 "$(ip_of "$1")" >/dev/null 2>&1; }

# This site's NIC on link L, by the MAC the rig gave it (run.sh: link ab,
# aw, bw has MACs 52:54:00:12:34, :35, :36, then :01 at a, :02 at b, :03 at
# w): link_if L.  Fails where this site is not on L.
link_if() {
	local o n d
	case $1 in ab) o=34 ;; aw) o=35 ;; bw) o=36 ;; *) return 1 ;; esac
	case $SITE in a) n=1 ;; b) n=2 ;; w) n=3 ;; *) return 1 ;; esac
	for d in /sys/class/net/*; do
		[ "$(cat "$d/address")" = "52:54:00:12:$o:0$n" ] && { echo "${d##*/}"; return 0; }
	done
	return 1
}

# link_cut L / link_heal L: take this site's end of link L (ab, aw or bw)
# down or up again, as linkcut.sh does with eth0.  Call them at either site
# on L (at another they fail and change nothing): this site then gets
# "network unreachable" over L, the other end's packets are lost unanswered,
# and the site's other link runs on.  A cut lasts until link_heal at the same
# site, or until that site boots again (its power cut heals it).  Wrap them
# in check: check "cut ab" link_cut ab.
link_cut() {
	local d
	d=$(link_if "$1") || { echo "link_cut: site $SITE is not on link '$1'"; return 1; }
	ip link set "$d" down
}
link_heal() {
	local d
	d=$(link_if "$1") || { echo "link_heal: site $SITE is not on link '$1'"; return 1; }
	ip link set "$d" up
}

# a and b: dccd's configuration (dccd_config) with the witness w and leases
# of LEASE_MS: dccd_config_witness LEASE_MS [line...]
dccd_config_witness() {
	local lease=$1
	shift
	dccd_config "witness = \"tcp://$WITNESS_IP:7790\"" "witness_public_key = \"$KEY_PUB_w\"" \
		"lease_ms = $lease" "$@"
}

# w: write the witness's configuration (state in /var/lib/dcc/witness,
# sites a and b by their keys): witness_config LEASE_MS
witness_config() {
	mkdir -p /var/lib/dcc/witness /etc/dcc
	{
		printf 'listen = "tcp://0.0.0.0:7790"\n'
		printf 'secret_key = "%s"\npublic_key = "%s"\n' "$KEY_SEC_w" "$KEY_PUB_w"
		printf 'state_dir = "/var/lib/dcc/witness"\nlease_ms = %s\n' "$1"
		printf '[sites]\na = "%s"\nb = "%s"\n' "$KEY_PUB_a" "$KEY_PUB_b"
	} >/etc/dcc/witness.toml
}

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

# set_key KEY VALUE NOW: KEY = "VALUE" in dccd.toml, taken by a SIGHUP;
# waits until dccd logs, after this, that KEY is NOW (as its SIGHUP line
# says it).
set_key() {
	local seen
	seen=$(wc -l </tmp/dccd.log)
	sed -i "/^$1 = /d" /etc/dcc/dccd.toml
	printf '%s = "%s"\n' "$1" "$2" >>/etc/dcc/dccd.toml
	kill -HUP "$DCCD"
	wait_until 10 sh -c "tail -n +$((seen + 1)) /tmp/dccd.log | grep -q 'SIGHUP: $1: .* -> $3\$'"
}

# set_warm N: warm_regions = N (an integer, which set_key would quote),
# taken by a SIGHUP; waits until dccd logs, after this, that it is N.
set_warm() {
	local seen
	seen=$(wc -l </tmp/dccd.log)
	sed -i '/^warm_regions = /d' /etc/dcc/dccd.toml
	echo "warm_regions = $1" >>/etc/dcc/dccd.toml
	kill -HUP "$DCCD"
	wait_until 10 sh -c "tail -n +$((seen + 1)) /tmp/dccd.log | grep -q 'SIGHUP: warm_regions: .* -> $1\$'"
}

# set_rate RATE BYTES: replication_rate = RATE; waits until dccd says it
# replicates at BYTES/s now.
set_rate() { set_key replication_rate "$1" "$2 bytes/s"; }

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

# Exchange a value with site X over their link (a port per link and name):
# both call exchange_with X NAME VALUE, each naming the other, and get the
# other's value back.  The link's first-named site listens, the other
# connects (retrying for 5 minutes).
exchange_with() {
	local l base port got t=0
	l=$(link_to "$1") || { echo "exchange_with: site $SITE has no link to '$1'" >&2; return 1; }
	case $l in ab) base=9000 ;; aw) base=9500 ;; bw) base=10000 ;; esac
	port=$((base + 0x$(echo "$2" | md5sum | cut -c1-4) % 500))
	if [ "$SITE" = "${l%?}" ]; then
		got=$(echo "$3" | nc -l -p $port)
	else
		# -w 2 bounds a connect to a site that is down (rebooting, or its
		# link cut): TCP's SYN retries would otherwise wait 1, 3, 7, 15 s...
		# after it is back.  (Busybox's -w is for the connect only.)
		while [ $t -lt 600 ]; do
			got=$(echo "$3" | nc -w 2 "$(ip_of "$1")" $port 2>/dev/null) && [ -n "$got" ] && break
			sleep 0.5
			t=$((t + 1))
		done
	fi
	echo "$got"
}

# Exchange a value with the peer site (a with b) over ab: both sites call
# exchange NAME VALUE and get the peer's value back.
exchange() { exchange_with "$PEER" "$@"; }

# barrier_with X NAME: this site and X reach the same point before either
# goes on (over their own link).
barrier_with() {
	[ "$(exchange_with "$1" "barrier-$2" "$2")" = "$2" ] && ok "$SITE and $1 reached '$2'" ||
		bad "barrier '$2' with $1 failed"
}

# All sites reach the same point before any goes on: barrier NAME.  With
# three it runs through w (w hears from a, then b, then tells a), so it
# needs aw and bw up but not ab; with aw or bw cut, use barrier_with.
barrier() {
	local r=0
	if [ "$SITES" != 3 ]; then
		[ "$(exchange "barrier-$1" "$1")" = "$1" ] && ok "both sites reached '$1'" || bad "barrier '$1' failed"
		return
	fi
	case $SITE in
	w)
		[ "$(exchange_with a "barrier3-$1" "$1")" = "$1" ] &&
			[ "$(exchange_with b "barrier3-$1" "$1")" = "$1" ] &&
			[ "$(exchange_with a "barrier3-out-$1" "$1")" = "$1" ] || r=1
		;;
	a)
		[ "$(exchange_with w "barrier3-$1" "$1")" = "$1" ] &&
			[ "$(exchange_with w "barrier3-out-$1" "$1")" = "$1" ] || r=1
		;;
	b) [ "$(exchange_with w "barrier3-$1" "$1")" = "$1" ] || r=1 ;;
	esac
	[ $r = 0 ] && ok "all three sites reached '$1'" || bad "barrier '$1' failed"
}

# This VM loses its power at once: the rig kills QEMU, nothing is synced.
powercut() {
	echo "DCC-KILL-ME"
	sleep 600
}

# The daemon was started with a crash point: once it died there, the power
# is cut.
powercut_on_crash() {
	wait_until 60 dccd_died || bad "dccd did not die at its crash point"
	powercut
}

# dccd reports its link to the peer down.
link_down() { dccctl status --json | grep -q '"link":"down"'; }
