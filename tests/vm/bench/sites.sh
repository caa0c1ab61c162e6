# Two-site benchmarks, one run, measured against the same link:
#   raw TCP throughput of the link (iperf3), then replication of an empty
#   256 MiB replica (replication_rate 1G, replication_window 32); handover time of a 1 GiB, a
#   64 GiB and a 16 TiB volume with the same writes not yet replicated (3
#   rounds each, alternating direction; the 16 TiB one's data device is
#   dm-zero, its metadata real: 64 MiB of bitmaps, with the table's load
#   time and dccd's memory); one volume against 100 migrated at once (3
#   rounds, alternating direction); the
#   miss latency at the owner against RTT plus region transfer time at two
#   netem RTTs, with background pulls running and with none.  Lines
#   "BENCH ..." are collected by tests/bench.sh.
# sites: 2
# disks: data=82G meta=96M
# timeout: 1500
# memory: 1024
. ./lib.sh

# The volumes' data and metadata devices are slices of two sparse disks.
# carve NAME DISK START_MIB SIZE_MIB
carve() { echo "0 $(($4 * 2048)) linear $2 $(($3 * 2048))" | dmsetup create "$1" || bad "carve $1"; }
carve rep.d "$DATA" 0 256
carve rep.m "$META" 0 1
carve h1g.d "$DATA" 256 1024
carve h1g.m "$META" 1 1
carve h64g.d "$DATA" 1280 65536
carve h64g.m "$META" 2 4
carve miss.d "$DATA" 66816 16384
carve miss.m "$META" 6 1
carve scratch.d "$DATA" 83200 64
carve scratch.m "$META" 7 1
# 16 TiB of data that reads as zeros and drops writes: what is timed is
# metadata and ownership, not the data.
load_extra dm-zero || bad "load dm-zero"
echo "0 $((16 * 1024 * 1024 * 1024 * 2)) zero" | dmsetup create h16t.d || bad "create h16t.d"
carve h16t.m "$META" 16 65
REP=/dev/mapper/rep.d REPMETA=/dev/mapper/rep.m
V1G=/dev/mapper/h1g.d META1=/dev/mapper/h1g.m
V64G=/dev/mapper/h64g.d META64=/dev/mapper/h64g.m
V16T=/dev/mapper/h16t.d META16T=/dev/mapper/h16t.m
MISS=/dev/mapper/miss.d MISSMETA=/dev/mapper/miss.m

say() { echo "bench[$SITE]: $*"; }
now() { cut -d' ' -f1 /proc/uptime; }
# durable DEV BS: ms per O_DIRECT write of BS followed by a flush (20 of them)
durable() {
	local t0
	t0=$(now)
	$DD if=/dev/zero of="$1" bs="$2" count=20 oflag=direct,dsync status=none || bad "durable writes to $1"
	awk -v a="$t0" -v b="$(now)" 'BEGIN {printf "%.1f", (b - a) * 1000 / 20}'
}
since() { awk -v a="$1" -v b="$(now)" 'BEGIN {printf "%.2f", b - a}'; }
role=$([ "$SITE" = a ] && echo owner || echo replica)

# 1. the raw link
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

# 2. replication of an empty replica
if [ "$SITE" = a ]; then
	dccctl format-meta --data "$REP" --meta "$REPMETA" --uuid 5a5a5a5a-0000-4000-8000-0000000000b1 >/dev/null
else
	dccctl format-meta --data "$REP" --meta "$REPMETA" --uuid 5a5a5a5a-0000-4000-8000-0000000000b1 --empty >/dev/null
fi
check "create rep" dcc_create rep "$REP" "$REPMETA"
dccd_config 'replication_rate = "1G"' 'replication_window = 32'
start_dccd
check "rep paired" dccctl wait rep paired --timeout 60
t0=$(now)
check "rep in sync" dccctl wait rep in-sync --timeout 900
secs=$(since "$t0")
if [ "$SITE" = a ]; then
	say "replicated 256 MiB in $secs s"
	echo "BENCH replication mib=256 secs=$secs"
fi
stop_dccd

# 3. handover time against volume size
n=0
for v in 1g 64g 16t; do
	n=$((n + 1))
	case $v in
	1g) data=$V1G meta=$META1 ;;
	64g) data=$V64G meta=$META64 ;;
	16t) data=$V16T meta=$META16T ;;
	esac
	dccctl format-meta --data "$data" --meta "$meta" --uuid 5a5a5a5a-0000-4000-8000-00000000000$n --role $role >/dev/null ||
		bad "format h$v"
	t0=$(now)
	check "create h$v" dcc_create h$v "$data" "$meta"
	echo "BENCH bigvol size=$v create_ms=$(awk -v a="$t0" -v b="$(now)" 'BEGIN {printf "%d", (b - a) * 1000}')"
done
dccd_config 'replication_rate = "1M"'
start_dccd
check "h1g, h64g, h16t paired" sh -c 'dccctl wait h1g paired --timeout 60 && dccctl wait h64g paired --timeout 60 &&
	dccctl wait h16t paired --timeout 120'
echo "BENCH bigvol dccd_rss_kib=$(sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\).*/\1/p' /proc/"$DCCD"/status)"
# The link's round trip now, for the handovers in round trips: ping's, and
# dccd's own (PING to PONG through both loops, as a handover's messages go).
if [ "$SITE" = a ]; then
	sleep 10 # dccd's figure smooths the last heartbeats: none from pairing
	echo "BENCH horth ping_ms=$(ping -c 20 -i 0.2 -q "$DCC_PEER_IP" | sed -n 's|.*= [0-9.]*/\([0-9.]*\)/.*|\1|p') dccd_ms=$(dccctl status --json | sed -n 's/.*"link_rtt_ms":\([0-9.]*\).*/\1/p')"
fi
owner=a
for round in 1 2 3 4 5 6; do
	peer=$([ $owner = a ] && echo b || echo a)
	# Each handover on a quiet pair: the order alternates, and the next one
	# starts once the new owner has fetched what the last one left it.
	order="1g 64g 16t"
	[ $((round % 2)) = 1 ] || order="16t 64g 1g"
	for v in $order; do
		if [ "$SITE" = $owner ]; then
			# the same 16 MiB, not yet replicated, at the same offset
			$DD if=/dev/urandom of=/dev/mapper/h$v bs=1M seek=$((round * 32)) count=16 oflag=direct status=none
			d=$(dirty_count h$v)
			dccctl migrate h$v --to $peer --json >/tmp/m
			ms=$(sed -n 's/.*"handover_ms":\([0-9]*\).*/\1/p' /tmp/m)
			[ -n "$ms" ] || bad "handover of h$v: $(cat /tmp/m)"
			say "round $round: h$v $owner -> $peer, $d dirty, $ms ms"
			echo "BENCH handover size=$v dirty=$d ms=$ms"
		else
			dccctl wait h$v owner=$SITE --timeout 120 >/dev/null || bad "h$v did not come here"
			dccctl wait h$v hydrated --timeout 300 >/dev/null || bad "h$v not hydrated here"
		fi
		barrier "round$round-$v"
	done
	barrier "round$round"
	owner=$([ $owner = a ] && echo b || echo a)
done
stop_dccd

# 4. one volume against 100 at once (2 MiB each, 4 regions dirty each)
dccd_config 'replication_rate = "1M"' 'heartbeat_ms = 1000' 'link_timeout_ms = 10000'
i=0
while [ $i -le 100 ]; do
	echo "0 4096 linear $DATA $((83200 * 2048 + i * 4096))" | dmsetup create md$i
	echo "0 128 linear $META $((8 * 2048 + i * 128))" | dmsetup create mm$i
	dccctl format-meta --data /dev/mapper/md$i --meta /dev/mapper/mm$i \
		--uuid "$(printf '5a5a5a5a-0000-4000-9000-%012d' $i)" --role $role >/dev/null || bad "format m$i"
	dcc_create m$i /dev/mapper/md$i /dev/mapper/mm$i || bad "create m$i"
	i=$((i + 1))
done
start_dccd
check "101 paired" wait_until 120 sh -c '[ $(dccctl status --json | grep -o "\"paired\":true" | wc -l) -ge 101 ]'
vols=
i=1
while [ $i -le 100 ]; do
	vols="$vols m$i"
	i=$((i + 1))
done
# Three rounds, the direction alternating (writes at the owner of the
# round); each times one volume (m0), then the other 100 in one command.
for round in 1 2 3; do
	to=b from=a
	[ $round = 2 ] && to=a from=b
	if [ "$SITE" = $from ]; then
		i=0
		while [ $i -le 100 ]; do
			$DD if=/dev/urandom of=/dev/mapper/m$i bs=64k count=4 oflag=direct status=none
			i=$((i + 1))
		done
	fi
	barrier "many-w$round"
	if [ "$SITE" = a ]; then
		t0=$(now)
		dccctl migrate m0 --to $to >/dev/null || bad "migrate m0 to $to"
		one=$(since "$t0")
		t0=$(now)
		# (one command: each volume still all or nothing, with its own answer)
		dccctl migrate $vols --to $to >/tmp/mall 2>&1
		all=$(since "$t0")
		n=$(grep -c ": owned by $to" /tmp/mall)
		grep "^dccctl migrate: " /tmp/mall | head -n 5
		expect_eq "100 migrated to $to" 100 "$n"
		say "round $round: 1 volume: $one s, 100 volumes at once: $all s"
		echo "BENCH many round=$round one_s=$one all_s=$all n=$n"
	fi
	barrier "many-r$round"
done
barrier many
stop_dccd

# 5. miss latency against RTT + transfer time, at two RTTs
if [ "$SITE" = a ]; then
	dccctl format-meta --data "$MISS" --meta "$MISSMETA" --uuid 5a5a5a5a-0000-4000-8000-0000000000c1 --empty --role owner >/dev/null
else
	dccctl format-meta --data "$MISS" --meta "$MISSMETA" --uuid 5a5a5a5a-0000-4000-8000-0000000000c1 --role replica >/dev/null
fi
check "create miss" dcc_create miss "$MISS" "$MISSMETA"
dccd_config
start_dccd
check "miss paired" dccctl wait miss paired --timeout 60
seed=1
for delay in 1 10; do
	/usr/sbin/tc qdisc replace dev eth0 root netem delay ${delay}ms || bad "netem"
	barrier "delay$delay"
	# With background pulls running (hydration_rate unlimited, 8 in
	# flight) and with none (hydration_rate off), in turn; the order
	# alternates between delays.
	order="running idle"
	[ $delay = 1 ] || order="idle running"
	for hyd in $order; do
		rate=$([ $hyd = idle ] && echo off || echo unlimited)
		[ "$SITE" != a ] || [ $rate = "${rate_now:-unlimited}" ] ||
			check "hydration $hyd (SIGHUP)" set_key hydration_rate $rate $rate
		rate_now=$rate
		[ "$SITE" != a ] || [ $hyd = running ] || check "no pull in flight" \
			wait_until 30 sh -c 'dccctl status --json miss | grep -q "\"hydration\":{\"bytes\":[^}]*\"in_flight\":0,"'
		if [ "$SITE" = a ]; then
			rtt=$(ping -c 10 -i 0.2 "$DCC_PEER_IP" | sed -n 's|.*= [0-9.]*/\([0-9.]*\)/.*|\1|p')
			# the upper half of 16 GiB: background hydration goes upward from 0
			dcctest readlat /dev/mapper/miss --count 40 --region-bytes 65536 --from-region 131072 --seed $seed >/tmp/lat
			line=$(tail -n 1 /tmp/lat)
			# What a fill costs here besides the network, under the same load:
			# the region written and flushed, then the metadata written and
			# flushed (slices of the same two disks).
			dms=$(durable /dev/mapper/scratch.d 64k)
			mms=$(durable /dev/mapper/scratch.m 4k)
			say "netem ${delay} ms each way, hydration $hyd: ping RTT $rtt ms; $line; durable write: data $dms ms, metadata $mms ms"
			echo "BENCH durable delay_ms=$delay hydration=$hyd data_ms=$dms meta_ms=$mms"
			echo "BENCH miss delay_ms=$delay hydration=$hyd rtt_ms=$rtt $(echo "$line" | sed 's/readlat: median \([0-9]*\) p90 \([0-9]*\) max \([0-9]*\)/median_us=\1 p90_us=\2 max_us=\3/')"
		fi
		barrier "measured$delay-$hyd-$seed"
		seed=$((seed + 1))
	done
done
/usr/sbin/tc qdisc del dev eth0 root 2>/dev/null
expect_eq "no timeouts" 0 "$(timeouts_of miss)"
stop_dccd
finish
