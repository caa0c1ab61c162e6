# 100 volumes migrated together: each carries writes not yet replicated;
# one `dccctl migrate --all` moves them all at once, each with its own
# answer; B then reads every volume right (each checksum-equal to A's
# before the move) and everything ends in sync.
# sites: 2
# disks: data=256M meta=8M
# timeout: 900
# alone: yes
. ./lib.sh

N=100
# Volume i: 1 MiB of the data disk, 64 KiB of the metadata disk.
specs() { concise_specs "$1" $N 2048; }
check "data and metadata devices" dmsetup create --concise "$(specs d);$(specs m)"
if [ "$SITE" = a ]; then role=owner; else role=replica; fi
i=1
while [ $i -le $N ]; do
	uuid=$(printf '5a5a5a5a-0000-4000-8000-%012d' $i)
	dccctl format-meta --data /dev/mapper/d$i --meta /dev/mapper/m$i --uuid $uuid --role $role >/dev/null ||
		bad "format v$i"
	i=$((i + 1))
done
check "$N volumes created" dmsetup create --concise "$(specs v)"
# A TCG guest busy with 100 devices is slow: a longer link timeout.
dccd_config 'replication_rate = "1M"' 'heartbeat_ms = 1000' 'link_timeout_ms = 10000'
start_dccd
check "all $N paired" wait_until 120 sh -c "[ \$(dccctl status --json | grep -o '\"paired\":true' | wc -l) = $N ]"
sums() {
	i=1
	while [ $i -le $N ]; do
		$DD if=/dev/mapper/v$i bs=1M iflag=direct status=none | sha256sum | cut -c1-16
		i=$((i + 1))
	done | tr '\n' ' '
}
now() { cut -d' ' -f1 /proc/uptime; }

if [ "$SITE" = a ]; then
	i=1
	while [ $i -le $N ]; do
		$DD if=/dev/urandom of=/dev/mapper/v$i bs=64k seek=$((i % 15)) count=2 oflag=direct status=none || bad "write v$i"
		i=$((i + 1))
	done
	d=$(dccctl status --json | grep -o '"dirty":[0-9]*' | cut -d: -f2 | awk '{s += $1} END {print s}')
	ok "$d regions dirty over the $N volumes"
	want=$(sums)
	t0=$(now)
	rc=0
	dccctl migrate --all --to b >/tmp/mall 2>&1 || rc=$?
	t1=$(now)
	expect_eq "dccctl migrate --all: exit code" 0 "$rc"
	expect_eq "... one line per volume owned by b" $N "$(grep -c ': owned by b, generation 2' /tmp/mall)"
	check "... and the count" grep -q "^$N of $N volumes owned by b" /tmp/mall
	failed=0
	for v in $(sed -n 's/^dccctl migrate: \(v[0-9]*\): .*/\1/p' /tmp/mall); do
		failed=$((failed + 1))
		# The answer and the volume's log, in the verdict itself.
		[ $failed -le 3 ] && bad "migrate $v: $(grep "^dccctl migrate: $v: " /tmp/mall) log: $(grep "$v: " /tmp/dccd.log | tail -n 6 | tr '\n' '|')"
	done
	expect_eq "all $N migrations succeeded" 0 "$failed"
	echo "DCC-BENCH many_volumes=$N migrate_all_s=$(awk "BEGIN {print $t1 - $t0}")"
	ok "$N volumes moved in $(awk "BEGIN {print $t1 - $t0}") s"
	exchange want "$want" >/dev/null
	barrier read
else
	want=$(exchange want x)
	if ! check "B owns all $N" wait_until 60 sh -c "[ \$(dmsetup status | grep -c ' dcc .* owner ') = $N ]"; then
		for v in $(dmsetup status | grep ' dcc ' | grep -v ' owner ' | cut -d: -f1 | head -n 3); do
			bad "$v not owned here: $(grep "$v: " /tmp/dccd.log | tail -n 6 | tr '\n' '|')"
		done
	fi
	expect_eq "B reads every volume as A left it" "$want" "$(sums)"
	barrier read
fi
in_sync() { [ "$(dccctl status --json | grep -o '"in_sync":true' | wc -l)" = $N ]; }
check "all $N in sync" wait_until 300 in_sync
# A data device that stops answering holds up dccd's loop, and every
# volume with it: the log says what the loop waits for, and when the wait
# ended.  A (the replica now) suspends v1's data device with its I/O
# queued; B writes to v1; A's loop waits in the push's write.
if [ "$SITE" = a ]; then
	check "stall: v1's data device stops answering" dmsetup suspend --noflush d1
	barrier stalled
	check "stall: a's log says what its loop waits for" wait_until 60 grep -q \
		"dccd's loop has waited [0-9]* s for a write (a push) at byte [0-9]* of v1's data device" /tmp/dccd.log
	check "stall: the device answers again" dmsetup resume d1
	check "stall: ... and the log says when the wait ended" wait_until 30 grep -q \
		"dccd's loop: a write (a push) at byte [0-9]* of v1's data device.* ended after [0-9]* s" /tmp/dccd.log
	grep "dccd's loop" /tmp/dccd.log
	barrier unstalled
else
	barrier stalled
	check "stall: B writes to v1" $DD if=/dev/urandom of=/dev/mapper/v1 bs=64k count=1 oflag=direct status=none
	barrier unstalled
fi
check "all $N in sync again" wait_until 300 in_sync
# The handovers' messages arrive together: the kernel work of each run of
# them is done side by side (at A the answers, at B the HANDOVERs).
runs=$(grep -c "handover messages done side by side" /tmp/dccd.log)
check "the kernel work of handovers done side by side ($runs runs)" [ "$runs" -gt 0 ]
barrier in-sync  # each dccd stays up until the other has seen it too
stop_dccd
names() { # KIND...: every device of those kinds
	local k i
	for k in "$@"; do
		i=1
		while [ $i -le $N ]; do
			printf '%s%d ' "$k" $i
			i=$((i + 1))
		done
	done
}
# shellcheck disable=SC2046
check "remove" dmsetup remove $(names v)
# shellcheck disable=SC2046
check "remove their devices" dmsetup remove $(names d m)
grep -aE "warning" /tmp/dccd.log | head -n 10
finish
