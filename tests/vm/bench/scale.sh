# A thousand volumes paired between two sites, one run: what the kernel
# and dccd take for them (table loads, kernel memory, dccd's resident
# memory, descriptors and threads), how long dccd takes from its start to
# every volume paired, how long `dccctl status` takes for all of them and
# for one, and one `dccctl migrate --all` of the thousand (each 1 MiB,
# one region written and not yet replicated) against one volume's
# migration; and dccd's CPU while all are paired and idle.  Lines "BENCH ..." are collected by tests/bench.sh.
# sites: 2
# disks: data=1100M meta=72M
# timeout: 1800
# memory: 2048
. ./lib.sh

N=1000
say() { echo "bench[$SITE]: $*"; }
now() { cut -d' ' -f1 /proc/uptime; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN {printf "%.2f", b - a}'; }
ms_since() { awk -v a="$1" -v b="$(now)" 'BEGIN {printf "%d", (b - a) * 1000}'; }
avail_kib() { sed -n 's/^MemAvailable:[[:space:]]*\([0-9]*\).*/\1/p' /proc/meminfo; }
# Volume i: 1 MiB of the data disk (16 regions), 64 KiB of the metadata disk.
specs() { concise_specs "$1" $N 2048; }
check "data and metadata devices" dmsetup create --concise "$(specs d);$(specs m)"
role=$([ "$SITE" = a ] && echo owner || echo replica)
t0=$(now)
i=1
while [ $i -le $N ]; do
	dccctl format-meta --data /dev/mapper/d$i --meta /dev/mapper/m$i \
		--uuid "$(printf '5a5a5a5a-0000-4000-a000-%012d' $i)" --role $role >/dev/null || bad "format v$i"
	i=$((i + 1))
done
say "$N format-meta in $(since "$t0") s"
mem0=$(avail_kib)
t0=$(now)
check "$N dcc volumes" dmsetup create --concise "$(specs v)"
create_ms=$(ms_since "$t0")
mem1=$(avail_kib)
echo "BENCH scale site=$SITE n=$N create_ms=$create_ms kernel_kib=$((mem0 - mem1))"
# A TCG guest busy with many devices is slow: a longer link timeout.
dccd_config 'replication_rate = "1M"' 'heartbeat_ms = 1000' 'link_timeout_ms = 10000'
barrier start
t0=$(now)
start_dccd
npaired() { dccctl status --json | grep -o '"paired":true' | wc -l; }
# Every 30 s: how many are paired, and what dccd last said.
k=0
while [ "$(npaired)" != $N ] && [ $k -lt 40 ]; do
	sleep 15
	k=$((k + 1))
	[ $((k % 2)) = 0 ] || continue
	say "$(since "$t0") s: $(npaired) paired; dccd CPU $(awk '{printf "%.1f", ($14 + $15) / 100}' /proc/"$DCCD"/stat) s; last: $(tail -n 2 /tmp/dccd.log | tr '\n' '|')"
done
expect_eq "all $N paired" $N "$(npaired)"
pair_s=$(since "$t0")
fds=$(ls /proc/"$DCCD"/fd | wc -l)
threads=$(ls /proc/"$DCCD"/task | wc -l)
rss=$(sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\).*/\1/p' /proc/"$DCCD"/status)
# status: all volumes, and one, 5 times each (the median)
med5() { sort -n | awk '{a[NR] = $1} END {print a[3]}'; }
all_ms=$(for k in 1 2 3 4 5; do
	t=$(now)
	dccctl status --json >/dev/null || bad "status"
	ms_since "$t"
	echo
done | med5)
one_ms=$(for k in 1 2 3 4 5; do
	t=$(now)
	dccctl status --json v$N >/dev/null || bad "status v$N"
	ms_since "$t"
	echo
done | med5)
# dccd's CPU over 20 s with every volume paired and nothing written
cpu_s() { awk '{printf "%.2f", ($14 + $15) / 100}' /proc/"$DCCD"/stat; }
c0=$(cpu_s)
t0=$(now)
sleep 20
idle_cpu=$(awk -v a="$c0" -v b="$(cpu_s)" -v t="$(since "$t0")" 'BEGIN {printf "%.2f", (b - a) / t}')
echo "BENCH scale site=$SITE pair_s=$pair_s dccd_rss_kib=$rss fds=$fds threads=$threads status_all_ms=$all_ms status_one_ms=$one_ms idle_cpu=$idle_cpu"
barrier measured
if [ "$SITE" = a ]; then
	i=1
	while [ $i -le $N ]; do
		$DD if=/dev/urandom of=/dev/mapper/v$i bs=64k seek=$((i % 16)) count=1 oflag=direct status=none ||
			bad "write v$i"
		i=$((i + 1))
	done
	t0=$(now)
	dccctl migrate v1 --to b >/dev/null || bad "migrate v1"
	one=$(since "$t0")
	t0=$(now)
	rc=0
	dccctl migrate --all --to b --timeout 900 >/tmp/mall 2>&1 || rc=$?
	all=$(since "$t0")
	expect_eq "dccctl migrate --all: exit code" 0 "$rc"
	# (--all names v1 too, which b owns already: its answer says so)
	moved=$(grep -c ': owned by b, generation 2' /tmp/mall)
	expect_eq "all $N owned by b" $N "$moved"
	say "migrate one: $one s; all $moved at once (v1 moved already): $all s"
	echo "BENCH scale migrate_one_s=$one migrate_all_s=$all moved=$moved"
fi
barrier migrated
stop_dccd
grep -aE "warning" /tmp/dccd.log | head -n 10
finish
