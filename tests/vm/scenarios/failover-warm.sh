# Warm regions of a sync volume, and what a forced failover makes of them.
#   1. a owns a volume formatted --sync at both sites (no witness).  With
#      warm_regions = 0 every region is cleared once b confirmed its
#      writes, so writing the same 64 regions again waits for 64 metadata
#      commits; with warm_regions = 4096 (a SIGHUP) they stay dirty once
#      confirmed, and writing them again takes (almost) no metadata write.
#      The volume is in sync all the same: dirty regions, none unconfirmed.
#   2. a writes numbered records (each acknowledgement sent to b) and its
#      power is cut mid-write.  At b, `dccctl failover vol --force` (no
#      witness): b owns generation 2; every record a acknowledged is there;
#      b writes.
#   3. a boots holding dirty regions (the warm ones, and those of its last
#      writes) but no write it acknowledged without b: it becomes b's
#      replica (rule 12), no split brain at either site, and its dirty
#      regions come back from b; the copies end equal.  (Judged by dirty
#      regions, as before warm regions, this was a split brain.)
#   4. b, cut off from a, lets its writes go on alone (`mode async`),
#      writes, switches back to sync, and its power is cut: its superblock
#      says it may hold writes a lacks.  a takes the volume by force
#      (generation 3) and writes.  b boots: both sites record the split
#      brain (rule 14); `dccctl resolve vol --discard-local` at b, and the
#      copies end equal, a's writes kept.
# sites: 2
# disks: data=32M meta=1M
# timeout: 300
# kernels: all
. ./lib.sh

UUID=5a5a5a5a-0000-4000-8000-000000000031
boot=${DCC_BOOT:-1}
sum_data() { $DD if="$DATA" bs=1M iflag=direct status=none | sha256sum | cut -d' ' -f1; }
is_role_gen() { [ "$(role_gen vol)" = "$1" ]; }
meta_writes() { awk '{print $5}' "/sys/block/$(basename "$META")/stat"; }
# write_regions N: one 4 KiB write at the start of each of the first N regions
write_regions() {
	local i=0 rs
	rs=$(status_field vol region_sectors)
	while [ $i -lt "$1" ]; do
		$DD if=/dev/urandom of=/dev/mapper/vol bs=512 count=8 seek=$((i * rs)) oflag=direct status=none || return 1
		i=$((i + 1))
	done
}
dccd_config 'warm_regions = 0'

if [ "$boot" = 1 ]; then
	dccctl format-meta --data "$DATA" --meta "$META" --uuid $UUID --sync \
		--role "$([ "$SITE" = a ] && echo owner || echo replica)" >/dev/null
	check "create" dcc_create vol "$DATA" "$META" 2 miss_timeout 10
	start_dccd
	check "paired" dccctl wait vol paired --timeout 60
	[ "$SITE" = b ] && { sleep 600 | nc -l -p 9411 >/tmp/acks & }
fi

if [ "$SITE" = a ]; then
	case $boot in
	1)
		check "1: 64 regions written" write_regions 64
		check "1: warm_regions 0: all cleared once confirmed" wait_until 20 is_field vol dirty 0
		m=$(meta_writes)
		check "1: the same 64 regions written again" write_regions 64
		m=$(($(meta_writes) - m))
		[ "$m" -ge 60 ] && ok "1: warm_regions 0: $m metadata writes for 64 writes" ||
			bad "1: warm_regions 0: only $m metadata writes for 64 writes to clean regions"
		check "1: ... cleared again" wait_until 20 is_field vol dirty 0
		check "1: warm_regions 4096 (SIGHUP)" set_warm 4096
		check "1: the 64 regions written a third time" write_regions 64
		check "1: in sync" dccctl wait vol in-sync --timeout 30
		sleep 1  # (what dccd would clear, it would have by now)
		expect_eq "1: kept dirty once confirmed" 64 "$(status_field vol dirty)"
		expect_eq "1: none unconfirmed" 0 "$(status_field vol unconfirmed)"
		m=$(meta_writes)
		check "1: the same 64 regions written again" write_regions 64
		m=$(($(meta_writes) - m))
		[ "$m" -le 4 ] && ok "1: warm_regions 4096: $m metadata writes for 64 writes" ||
			bad "1: warm_regions 4096: $m metadata writes for 64 writes to warm regions"
		check "1: in sync, 64 regions still dirty" dccctl wait vol in-sync --timeout 30
		barrier p2
		# Each acknowledgement goes to b as it comes; b keeps the last.
		( dcctest seqwrite /dev/mapper/vol --seed 31 | tee /tmp/acked | nc "$(ip_of b)" 9411 ) &
		wait_until 120 sh -c '[ "$(tail -n 1 /tmp/acked | cut -d" " -f2)" -gt 150 ] 2>/dev/null'
		powercut
		;;
	2)
		check "3: the volume comes back" dcc_create vol "$DATA" "$META" 2 miss_timeout 10
		expect_eq "3: a comes back as" "owner 1" "$(role_gen vol)"
		d=$(status_field vol dirty)
		[ "$d" -gt 0 ] && ok "3: a holds $d dirty regions" || bad "3: a holds no dirty region: the test shows nothing"
		barrier b-owns
		start_dccd
		check "3: a becomes b's replica (rule 12)" wait_until 60 is_role_gen "replica 2"
		grep -q "pairing rule 12" /tmp/dccd.log && ok "3: a's log names rule 12" || bad "3: no rule 12 in a's log"
		check "3: paired" dccctl wait vol paired --timeout 60
		expect_eq "3: no split brain at a" - "$(status_field vol split)"
		check "3: the regions a dropped come back from b" dccctl wait vol hydrated --timeout 120
		barrier b-in-sync
		s=$(sum_data)
		expect_eq "3: both copies equal" "$(exchange s3 "$s")" "$s"
		# 4: b goes on alone, cut off; its power goes.
		barrier p4
		check "4: a sees the link down" wait_until 30 link_down
		check "4: a takes the volume by force" dccctl failover vol --force
		expect_eq "4: a owns" "owner 3" "$(role_gen vol)"
		dccctl mode vol async >/dev/null  # (its writes may not wait for b)
		check "4: a writes 1 MiB" $DD if=/dev/urandom of=/dev/mapper/vol bs=1M seek=8 count=1 oflag=direct status=none
		want=$($DD if=/dev/mapper/vol bs=1M iflag=direct status=none | sha256sum | cut -d' ' -f1)
		barrier a-forced
		# (b may resolve before a's status shows it: the log keeps it.)
		check "4: a records the split brain (rule 14)" wait_until 120 grep -q "pairing rule 14" /tmp/dccd.log
		barrier resolved
		check "4: paired again" dccctl wait vol paired --timeout 120
		check "4: in sync" dccctl wait vol in-sync --timeout 120
		expect_eq "4: a's data is unchanged" "$want" \
			"$($DD if=/dev/mapper/vol bs=1M iflag=direct status=none | sha256sum | cut -d' ' -f1)"
		s=$(sum_data)
		expect_eq "4: both copies equal" "$(exchange s4 "$s")" "$s"
		;;
	esac
else
	case $boot in
	1)
		barrier p2
		check "2: b sees the link down" wait_until 300 link_down
		sleep 1
		acked=$(tail -n 1 /tmp/acks | cut -d' ' -f2)
		[ "${acked:-0}" -gt 100 ] && ok "2: a acknowledged $acked records before its power cut" ||
			bad "2: only '${acked:-}' records acknowledged: the test shows nothing"
		check "2: failover --force" dccctl failover vol --force
		expect_eq "2: b owns" "owner 2" "$(role_gen vol)"
		check "2: every record a acknowledged is at b" dcctest seqverify /dev/mapper/vol --seed 31 --acked "$acked"
		dccctl mode vol async >/dev/null  # (its writes may not wait for a)
		check "2: b writes 1 MiB" $DD if=/dev/urandom of=/dev/mapper/vol bs=1M seek=20 count=1 oflag=direct status=none
		barrier b-owns
		check "3: paired with a" dccctl wait vol paired --timeout 120
		check "3: in sync" dccctl wait vol in-sync --timeout 120
		expect_eq "3: no split brain at b" - "$(status_field vol split)"
		barrier b-in-sync
		s=$(sum_data)
		exchange s3 "$s" >/dev/null
		check "3: b back to sync" dccctl mode vol sync
		# 4: cut off, b goes on alone, then back to sync; its power goes.
		barrier p4
		check "4: b: its end of the link down" ip link set eth0 down
		check "4: b goes on alone" dccctl mode vol async
		check "4: b writes 1 MiB alone" $DD if=/dev/urandom of=/dev/mapper/vol bs=1M seek=12 count=1 oflag=direct status=none
		check "4: b back to sync" dccctl mode vol sync
		powercut
		;;
	2)
		check "4: the volume comes back" dcc_create vol "$DATA" "$META" 2 miss_timeout 10
		expect_eq "4: b comes back as" "owner 2" "$(role_gen vol)"
		barrier a-forced
		start_dccd
		check "4: b records the split brain (rule 14)" wait_until 120 is_field vol split old
		grep -q "pairing rule 14" /tmp/dccd.log && ok "4: b's log names rule 14" || bad "4: no rule 14 in b's log"
		check "4: resolve --discard-local at b" dccctl resolve vol --discard-local
		barrier resolved
		check "4: paired again" dccctl wait vol paired --timeout 120
		check "4: in sync" dccctl wait vol in-sync --timeout 120
		s=$(sum_data)
		exchange s4 "$s" >/dev/null
		;;
	esac
fi
stop_dccd
check "remove" dmsetup remove vol
finish
