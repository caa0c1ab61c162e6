# Synchronous replication's cost, one run, on the same link: write latency
# (fio, 4 KiB random writes, O_DIRECT, one in flight, and with 16 in
# flight for IOPS) of dm-linear on a's disk, of a dcc volume in async and
# of one formatted --sync (each paired with b, every region written once
# first and in sync at both sites before each target), and of DRBD 8.4
# (the drbd module of Debian's kernel, drbd-utils' drbdsetup-84) with
# protocol C on the same disk and link, against the link's RTT (ping) and
# a durable 4 KiB write at b.  3 alternating rounds of 6 s.  Then one
# handover of each to b, with its first write there.  Lines
# "BENCH ..." are collected by tests/bench.sh.
# sites: 2
# disks: data=256M meta=4M
# timeout: 1500
# memory: 1024
. ./lib.sh

carve() { echo "0 $(($4 * 2048)) linear $2 $(($3 * 2048))" | dmsetup create "$1" || bad "carve $1"; }
carve lin.d "$DATA" 0 64
carve async.d "$DATA" 64 64
carve async.m "$META" 0 1
carve sync.d "$DATA" 128 64
carve sync.m "$META" 1 1
carve drbd.d "$DATA" 192 64
role=$([ "$SITE" = a ] && echo owner || echo replica)
dccctl format-meta --data /dev/mapper/async.d --meta /dev/mapper/async.m --uuid 5a5a5a5a-0000-4000-8000-0000000000a1 \
	--role $role >/dev/null || bad "format async"
dccctl format-meta --data /dev/mapper/sync.d --meta /dev/mapper/sync.m --uuid 5a5a5a5a-0000-4000-8000-0000000000a2 \
	--role $role --sync >/dev/null || bad "format sync"
dcc_create async /dev/mapper/async.d /dev/mapper/async.m || bad "create async"
dcc_create sync /dev/mapper/sync.d /dev/mapper/sync.m || bad "create sync"
# DRBD 8.4, minor 0, internal metadata, a fresh pair (no initial sync).
load_extra drbd || bad "load drbd"
mkdir -p /var/lock /var/run/drbd  # the tools' locks
drbdmeta --force 0 v08 /dev/mapper/drbd.d internal create-md >/tmp/drbd.out 2>&1 || bad "drbdmeta create-md"
{ drbdsetup-84 new-resource r0 && drbdsetup-84 new-minor r0 0 0 &&
	drbdsetup-84 attach 0 /dev/mapper/drbd.d /dev/mapper/drbd.d internal &&
	drbdsetup-84 connect r0 "ipv4:$DCC_IP:7800" "ipv4:$DCC_PEER_IP:7800" --protocol=C; } >>/tmp/drbd.out 2>&1 ||
	{ bad "drbd up"; cat /tmp/drbd.out; }
dccd_config
start_dccd
dccctl wait async paired --timeout 120 >/dev/null || bad "async paired"
dccctl wait sync paired --timeout 120 >/dev/null || bad "sync paired"

# lat DEV DEPTH [SIZE [SYNC]]: "median_us p99_us iops writes" of 6 s of 4 KiB
# random writes over the first SIZE (60M) of DEV, opened O_SYNC if SYNC is
# 1 (each write then asks for durability: FUA, or a write and a flush)
# (fio's terse format, version 3: the write section starts at field 47,
# its IOPS are field 49, its completion-latency percentiles "P%=us" follow)
lat() {
	fio --name=l --filename="$1" --rw=randwrite --bs=4k --size="${3:-60M}" --direct=1 --ioengine=libaio \
		--sync="${4:-0}" --iodepth="$2" --runtime=6 --time_based --randrepeat=0 --output-format=terse \
		--terse-version=3 --output=/tmp/lat.terse >/dev/null 2>&1 || bad "fio on $1"
	awk -F';' '{ m = p = 0; for (i = 59; i <= 78; i++) { split($i, kv, "%=");
		if (kv[1] == "50.000000") m = kv[2]; if (kv[1] == "99.000000") p = kv[2] }
		printf "%d %d %d %d\n", m, p, $49, $47 / 4 }' /tmp/lat.terse
}

# dev_writes NAME: the write requests completed by /dev/mapper/NAME so far
dev_writes() {
	local f
	f=/sys/block/dm-$(dmsetup info -c --noheadings -o minor "$1" | tr -d ' ')/stat
	[ -r "$f" ] || bad "no I/O counts for $1 ($f)"
	awk '{print $5}' "$f"
}
drbd_connected() { [ "$(drbdsetup-84 cstate 0 2>/dev/null)" = Connected ]; }
# warm N: dccd's warm_regions = N (SIGHUP); with 0, waits until the sync
# volume's confirmed regions are cleared
warm() {
	set_warm "$1" || bad "warm_regions $1 not taken"
	[ "$1" != 0 ] || wait_until 30 sh -c '[ "$(dcctest field sync dirty)" = 0 ]' || bad "warm regions not cleared"
}
if [ "$SITE" = a ]; then
	wait_until 60 drbd_connected || bad "drbd connected"
	{ drbdsetup-84 new-current-uuid 0 --clear-bitmap=yes && drbdsetup-84 primary 0; } >>/tmp/drbd.out 2>&1 ||
		{ bad "drbd primary"; cat /tmp/drbd.out; }
	expect_eq "drbd: both copies up to date, protocol C" "UpToDate/UpToDate C" \
		"$(drbdsetup-84 dstate 0) $(drbdsetup-84 show 0 --show-defaults | sed -n 's/.*protocol[[:space:]]*\([ABC]\);.*/\1/p')"
	for dev in /dev/mapper/lin.d /dev/mapper/async /dev/mapper/sync; do
		$DD if=/dev/zero of=$dev bs=1M count=64 oflag=direct status=none || bad "write $dev once"
	done
	dccctl wait async in-sync --timeout 300 >/dev/null || bad "async in sync"
	dccctl wait sync in-sync --timeout 300 >/dev/null || bad "sync in sync"
	pushed0=$(dccctl status --json sync | grep -o '"replication":{[^}]*' | grep -o '"regions":[0-9]*' | cut -d: -f2)
	rtt=$(ping -c 20 -i 0.2 -q "$DCC_PEER_IP" | sed -n 's|.*= [0-9.]*/\([0-9.]*\)/.*|\1|p')
	echo "BENCH rtt ms=$rtt"
	# The same round trip as dccd pays it (PING to PONG, both loops).
	# (Smoothed, it still holds the writes above; the least sample is
	# what the loops cost when idle.)
	st=$(dccctl status --json)
	echo "BENCH dccrtt ms=$(echo "$st" | sed -n 's/.*"link_rtt_ms":\([0-9.]*\).*/\1/p') min_ms=$(echo "$st" | sed -n 's/.*"link_rtt_min_ms":\([0-9.]*\).*/\1/p')"
	for round in 1 2 3; do
		# (synchot and drbdhot: the same writes over a hot 4 MiB, as a
		# database's log or hot tables are; 64 of dcc's regions, one of
		# DRBD's activity-log extents.)
		# (syncds and drbdds: writes that ask for durability, O_SYNC,
		# for which DRBD too flushes at both sites.)
		# (syncnw: sync with warm_regions 0, every region cleared once
		# the peer confirmed its writes, so that each write to it waits
		# for a dirty-bit commit: what warm regions save.)
		# (syncnp: sync with b's dccd restarted with listen_sync =
		# "none", so that the writes take the control channel through
		# ZeroMQ's I/O threads instead of the sync path.)
		# (syncnp right after sync: the two measured as close together
		# as they can be, the host's load drifts.)
		for t in lin:/dev/mapper/lin.d async:/dev/mapper/async sync:/dev/mapper/sync syncnp:/dev/mapper/sync \
			drbd:/dev/drbd0 synchot:/dev/mapper/sync:4M drbdhot:/dev/drbd0:4M syncds:/dev/mapper/sync:60M:1 \
			drbdds:/dev/drbd0:60M:1 syncnw:/dev/mapper/sync; do
			dev=${t#*:} size=60M ds=0
			case $dev in *:*:*) ds=${dev##*:} dev=${dev%:*} ;; esac
			case $dev in *:*) size=${dev#*:} dev=${dev%%:*} ;; esac
			# The sync volume's metadata writes at the owner while one
			# write is in flight (the dirty bits' commits, which the
			# writes wait for), against fio's writes.
			[ "${t%%:*}" = syncnw ] && warm 0
			if [ "${t%%:*}" = syncnp ]; then
				told=$(grep -c "the peer has no sync path" /tmp/dccd.log || true)
				barrier "npoff$round"
				barrier "npready$round"
				dccctl wait sync paired --timeout 120 >/dev/null || bad "sync paired (b without a sync path)"
				no_path() { [ "$(grep -c "the peer has no sync path" /tmp/dccd.log)" -gt "$told" ]; }
				wait_until 30 no_path || bad "a did not learn that b has no sync path"
				dccctl wait sync in-sync --timeout 300 >/dev/null || bad "sync in sync (b without a sync path)"
			fi
			mw0=$(dev_writes sync.m)
			set -- $(lat "$dev" 1 "$size" "$ds")
			mw=$(($(dev_writes sync.m) - mw0))
			# shellcheck disable=SC2046
			set -- "$@" $(lat "$dev" 16 "$size" "$ds")
			echo "BENCH synclat round=$round target=${t%%:*} median_us=$1 p99_us=$2 iops16=$7" \
				"meta_writes=$mw writes=$4"
			if [ "${t%%:*}" = syncnw ]; then
				# Warm again, as the first write of each device left
				# it, for the next round's sync rows.
				warm 4096
				$DD if=/dev/zero of=/dev/mapper/sync bs=1M count=64 oflag=direct status=none ||
					bad "write the sync volume again"
				dccctl wait sync in-sync --timeout 300 >/dev/null || bad "sync in sync after warming"
			fi
			if [ "${t%%:*}" = syncnp ]; then
				opened=$(grep -c "sync: sync path to .* open" /tmp/dccd.log)
				barrier "npon$round"
				barrier "npback$round"
				dccctl wait sync paired --timeout 120 >/dev/null || bad "sync paired (b with its sync path)"
				path_open() { [ "$(grep -c "sync: sync path to .* open" /tmp/dccd.log)" -gt "$opened" ]; }
				wait_until 30 path_open || bad "the sync path did not open again"
			fi
			# What a target left to replicate is done before the next
			# one is measured, not during it.
			dccctl wait async in-sync --timeout 300 >/dev/null || bad "async in sync after $t"
			dccctl wait sync in-sync --timeout 300 >/dev/null || bad "sync in sync after $t"
		done
		barrier "round$round"  # (b waits for each round, not for all three)
	done
	grep "sync:" /tmp/dccd.log | tail -n 5
	grep -E "sync path|writes confirmed" /tmp/dccd.log | tail -n 40
	# The sync volume's regions written by the rounds: cleared as
	# confirmed, or pushed.
	pushed=$(dccctl status --json sync | grep -o '"replication":{[^}]*' | grep -o '"regions":[0-9]*' | cut -d: -f2)
	echo "BENCH syncclear confirmed=$(dccctl status --json sync | grep -o '"confirmed":[0-9]*' | cut -d: -f2) pushed=$((pushed - pushed0))"
	barrier done
else
	t0=$(cut -d' ' -f1 /proc/uptime)
	$DD if=/dev/zero of=/dev/mapper/lin.d bs=4k count=50 oflag=direct,dsync status=none || bad "durable writes"
	awk -v a="$t0" -v b="$(cut -d' ' -f1 /proc/uptime)" 'BEGIN {printf "BENCH durable4k us=%d\n", (b - a) * 1e6 / 50}'
	for round in 1 2 3; do
		# (syncnp: this dccd without its sync path, then with it again.)
		barrier "npoff$round"
		stop_dccd
		dccd_config 'listen_sync = "none"'
		start_dccd
		barrier "npready$round"
		barrier "npon$round"
		stop_dccd
		dccd_config
		start_dccd
		barrier "npback$round"
		barrier "round$round"
	done
	barrier done
	grep "sync: answered" /tmp/dccd.log | tail -n 5
fi

# Handover to b and its first write there, 4 KiB O_DIRECT: dcc (dccctl
# migrate at b of the idle async volume, which waits for both sites) and
# DRBD (a demotes, then b promotes; the two times added up).
now_ms() { awk '{ printf "%d", $1 * 1000 }' /proc/uptime; }
barrier handover
if [ "$SITE" = a ]; then
	exchange migrated x >/dev/null
	t=$(now_ms)
	drbdsetup-84 secondary 0 || bad "drbd secondary"
	exchange demote $(($(now_ms) - t)) >/dev/null
else
	t=$(now_ms)
	dccctl migrate async --to b >/dev/null || bad "migrate"
	$DD if=/dev/urandom of=/dev/mapper/async bs=4k count=1 oflag=direct status=none || bad "write after migrate"
	dcc_ms=$(($(now_ms) - t))
	exchange migrated x >/dev/null
	demote=$(exchange demote x)
	t=$(now_ms)
	drbdsetup-84 primary 0 || bad "drbd primary at b"
	$DD if=/dev/urandom of=/dev/drbd0 bs=4k count=1 oflag=direct status=none || bad "drbd write at b"
	echo "BENCH handover dcc_ms=$dcc_ms drbd_ms=$(($(now_ms) - t + demote)) drbd_demote_ms=$demote"
fi
barrier handed
stop_dccd
drbdsetup-84 down r0 || bad "drbd down"
finish
