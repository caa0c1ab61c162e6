# The first copy of an empty replica, taken apart, one run, on the same
# two VMs and link: raw TCP (iperf3, a to b) as the reference; dcc's first
# copy of an empty 256 MiB replica with CURVE (replication_rate 1G,
# replication_window 32, as sites.sh), without CURVE (insecure, and
# insecure_network: the link is not loopback), with windows 128 and 8, and
# with CURVE and window 32 once more at the end (the spread), and with
# CURVE and window 32 on data devices 10 ms slower (dm-delay on both
# sites' slices: a's reads, b's writes and flushes), where reading and
# writing regions one after another would cap the copy; then what one
# thread of O_DIRECT 64 KiB writes, one after another, reaches on b's data
# disk, without and with a flush every N writes (N: the regions a flush of
# b's data disk in the first copy), and what such reads reach on a's.  Each
# copy is a true first copy: new metadata (a new uuid, --empty at b) on
# slices of the disks never written before, timed at a from paired to in
# sync.  For each copy b reports its disks' writes, flushes and busy time
# (/proc/diskstats: each FILL_DONE is a flush of the data disk and a
# metadata commit), and each site its dccd's CPU time and how busy its
# vCPUs were.  Last, the application at the owner: 4 KiB random reads
# and writes (70/30, O_DIRECT, 4 in flight, 8 s) on a volume while its
# first copy runs, and again once it is in sync.  And DRBD 8.4's full
# resync of the same 256 MiB (Debian's drbd module, drbdsetup-84; protocol
# C, internal metadata, its rate controller off and a fixed resync rate of
# 1 GiB/s, as replication_rate 1G), timed at a from the forced primary to
# both disks UpToDate.  Lines "BENCH ..." are collected by tests/bench.sh.
# sites: 2
# disks: data=2560M meta=10M
# timeout: 900
# memory: 1024
. ./lib.sh

MIB=256
say() { echo "bench[$SITE]: $*"; }
now() { cut -d' ' -f1 /proc/uptime; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN {printf "%.2f", b - a}'; }
# Slice K (0-9) of each disk: data at K * 256 MiB, metadata at K MiB;
# with SLOW_MS set, the data slice answers that much later (dm-delay).
carve() {
	if [ "${SLOW_MS:-0}" != 0 ]; then
		echo "0 $((MIB * 2048)) delay $DATA $(($1 * MIB * 2048)) $SLOW_MS" | dmsetup create "d$1" || bad "carve d$1"
	else
		echo "0 $((MIB * 2048)) linear $DATA $(($1 * MIB * 2048))" | dmsetup create "d$1" || bad "carve d$1"
	fi
}
carve_meta() { echo "0 2048 linear $META $(($1 * 2048))" | dmsetup create "m$1" || bad "carve m$1"; }
# writes, ms writing, flushes, ms flushing, sectors written of a whole
# disk (vda, vdb)
disk() { awk -v d="${1#/dev/}" '$3 == d {print $8, $11, $19, $20, $10}' /proc/diskstats; }
# dccd's CPU time, in clock ticks (all its threads: the loop, ZeroMQ's)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$DCCD/stat"; }
# the VM's busy and total clock ticks, all its CPUs
vm_ticks() { awk '$1 == "cpu" {t = 0; for (i = 2; i <= NF; i++) t += $i; print t - $5 - $6, t}' /proc/stat; }

# 1. the raw link, as sites.sh measures it
if [ "$SITE" = b ]; then
	iperf3 -s -1 >/dev/null 2>&1 &
	barrier iperf
	wait
else
	barrier iperf
	sleep 1
	mbit=$(iperf3 -c "$DCC_PEER_IP" -t 6 -f m 2>/dev/null | awk '/receiver/ {print $(NF-2)}')
	say "raw TCP: $mbit Mbit/s"
	echo "BENCH tcp mbit=$mbit"
fi

# 2. first copies.  copy K NAME [toml lines]: volume cK on slice K.
copy() {
	local k=$1 name=$2 uuid t0 c0 c1 v0 v1 cpu busy secs d0 m0 d1 m1
	shift 2
	carve "$k"
	carve_meta "$k"
	uuid=5a5a5a5a-0000-4000-8000-00000000c0$(printf %02d "$k")
	if [ "$SITE" = a ]; then
		dccctl format-meta --data /dev/mapper/d$k --meta /dev/mapper/m$k --uuid $uuid >/dev/null
	else
		dccctl format-meta --data /dev/mapper/d$k --meta /dev/mapper/m$k --uuid $uuid --empty >/dev/null
	fi
	check "create c$k" dcc_create c$k /dev/mapper/d$k /dev/mapper/m$k
	dccd_config 'replication_rate = "1G"' "$@"
	barrier "start$k"
	d0=$(disk "$DATA") m0=$(disk "$META")
	start_dccd
	check "c$k paired" dccctl wait c$k paired --timeout 60
	t0=$(now) c0=$(cpu_ticks) v0=$(vm_ticks)
	check "c$k in sync" dccctl wait c$k in-sync --timeout 600
	secs=$(since "$t0")
	c1=$(cpu_ticks) v1=$(vm_ticks)
	d1=$(disk "$DATA") m1=$(disk "$META")
	cpu=$(awk -v a="$c0" -v b="$c1" 'BEGIN {printf "%.2f", (b - a) / 100}')
	busy=$(echo "$v0 $v1" | awk '{printf "%.0f", 100 * ($3 - $1) / ($4 - $2)}')
	say "$name: $MIB MiB in $secs s; dccd CPU $cpu s; VM busy $busy %"
	echo "BENCH cpu row=$name site=$SITE s=$cpu vm_busy_pct=$busy"
	if [ "$SITE" = a ]; then
		echo "BENCH copy row=$name mib=$MIB secs=$secs"
	else
		echo "$d0 $d1 $m0 $m1" | awk -v r="$name" '{
			printf "BENCH disk row=%s dw=%d dw_ms=%d df=%d df_ms=%d dw_mib=%.1f mw=%d mw_ms=%d mf=%d mf_ms=%d\n", r,
				$6 - $1, $7 - $2, $8 - $3, $9 - $4, ($10 - $5) / 2048, $16 - $11, $17 - $12, $18 - $13, $19 - $14 }'
		echo "$d0 $d1" | awk '{print $8 - $3}' >/tmp/flushes$k
	fi
	barrier "done$k"
	stop_dccd
	dmsetup remove c$k || bad "remove c$k"
}
W32='replication_window = 32'
copy 0 curve-w32 "$W32"
copy 1 insecure-w32 "$W32" 'insecure = true' 'insecure_network = true'
copy 2 curve-w128 'replication_window = 128'
copy 3 curve-w8 'replication_window = 8'
copy 4 curve-w32-again "$W32"
SLOW_MS=10 copy 9 curve-w32-slow "$W32"

# 3. one thread of O_DIRECT 64 KiB writes, one after another, on b's data
# disk (fresh slices, as the copies wrote), then reads on a's (slice 0, as
# the first copy read it).  fio's terse format, version 3: the read
# bandwidth is field 7, the write bandwidth field 48, in KiB/s, over a
# time that includes the fdatasyncs.
fio_bw() { # DEV RW [fio options]: KiB/s
	local dev=$1 rw=$2 f
	shift 2
	f=$([ "$rw" = read ] && echo 7 || echo 48)
	fio --name=r --filename="$dev" --rw="$rw" --bs=64k --ioengine=psync --iodepth=1 --direct=1 \
		--size=${MIB}M "$@" --output-format=terse --terse-version=3 --eta=never 2>/dev/null |
		awk -F';' -v f="$f" '{print $f}'
}
barrier raw
if [ "$SITE" = b ]; then
	carve 5
	carve 6
	kib=$(fio_bw /dev/mapper/d5 write)
	say "O_DIRECT 64 KiB writes: $kib KiB/s"
	echo "BENCH raw what=write kib_s=$kib"
	# N: the regions (64 KiB) of a flush of the data disk in the first
	# copy, rounded
	n=$(awk -v w=$((MIB * 16)) -v f="$(cat /tmp/flushes0)" 'BEGIN {
		n = f > 0 ? int(w / f + 0.5) : 16; print n < 1 ? 1 : n }')
	kib=$(fio_bw /dev/mapper/d6 write --fdatasync="$n")
	say "O_DIRECT 64 KiB writes, an fdatasync every $n: $kib KiB/s"
	echo "BENCH raw what=write-flush n=$n kib_s=$kib"
fi
barrier raw-write
if [ "$SITE" = a ]; then
	kib=$(fio_bw /dev/mapper/d0 read)
	say "O_DIRECT 64 KiB reads: $kib KiB/s"
	echo "BENCH raw what=read kib_s=$kib"
fi
barrier raw-read

# 4. the application at the owner while a first copy runs, against the
# same once the copy is done (slice 7).
app_iops() {
	fio --name=app --filename=/dev/mapper/c7 --rw=randrw --rwmixread=70 --bs=4k --ioengine=libaio \
		--iodepth=4 --direct=1 --size=${MIB}M --runtime=8 --time_based --randrepeat=0 \
		--output-format=terse --terse-version=3 --eta=never 2>/dev/null |
		awk -F';' '{printf "%d", $8 + $49}' # read IOPS + write IOPS
}
carve 7
carve_meta 7
if [ "$SITE" = a ]; then
	dccctl format-meta --data /dev/mapper/d7 --meta /dev/mapper/m7 --uuid 5a5a5a5a-0000-4000-8000-00000000c007 >/dev/null
else
	dccctl format-meta --data /dev/mapper/d7 --meta /dev/mapper/m7 --uuid 5a5a5a5a-0000-4000-8000-00000000c007 \
		--empty >/dev/null
fi
check "create c7" dcc_create c7 /dev/mapper/d7 /dev/mapper/m7
dccd_config 'replication_rate = "1G"' "$W32"
barrier start7
start_dccd
check "c7 paired" dccctl wait c7 paired --timeout 60
if [ "$SITE" = a ]; then
	during=$(app_iops)
	copying=$(dccctl status --json c7 | grep -q '"in_sync":false' && echo yes || echo no)
	check "c7 in sync" dccctl wait c7 in-sync --timeout 600
	idle=$(app_iops)
	say "application IOPS at the owner: $during during the first copy (still copying at the end: $copying), $idle after"
	echo "BENCH app during=$during idle=$idle copying=$copying"
	[ "$copying" = yes ] || bad "the first copy ended before the application's run did"
fi
barrier done7
stop_dccd

# 5. DRBD 8.4's full resync of a 256 MiB slice (8), a to b.
carve 8
load_extra drbd || bad "load drbd"
mkdir -p /var/lock /var/run/drbd # the tools' locks
drbdmeta --force 0 v08 /dev/mapper/d8 internal create-md >/tmp/drbd.out 2>&1 || bad "drbdmeta create-md"
{ drbdsetup-84 new-resource r0 && drbdsetup-84 new-minor r0 0 0 &&
	drbdsetup-84 attach 0 /dev/mapper/d8 /dev/mapper/d8 internal &&
	drbdsetup-84 disk-options 0 --c-plan-ahead=0 --resync-rate=1048576 &&
	drbdsetup-84 connect r0 "ipv4:$DCC_IP:7800" "ipv4:$DCC_PEER_IP:7800" --protocol=C; } >>/tmp/drbd.out 2>&1 ||
	{ bad "drbd up"; cat /tmp/drbd.out; }
drbd_connected() { [ "$(drbdsetup-84 cstate 0 2>/dev/null)" = Connected ]; }
drbd_synced() { [ "$(drbdsetup-84 dstate 0 2>/dev/null)" = UpToDate/UpToDate ]; }
barrier drbd-up
if [ "$SITE" = a ]; then
	wait_until 60 drbd_connected || bad "drbd connected"
	t0=$(now)
	drbdsetup-84 primary 0 --force >>/tmp/drbd.out 2>&1 || { bad "drbd primary --force"; cat /tmp/drbd.out; }
	i=0
	until drbd_synced; do
		i=$((i + 1))
		[ $i -le 3000 ] || { bad "drbd resync did not end in 600 s"; break; }
		sleep 0.2
	done
	secs=$(since "$t0")
	sectors=$(cat /sys/block/drbd0/size)
	say "DRBD 8.4 resync: $((sectors / 2048)) MiB in $secs s"
	echo "BENCH drbd mib=$((sectors / 2048)) secs=$secs"
fi
barrier drbd-done
drbdsetup-84 down r0 || bad "drbd down"
finish
