# Synchronous replication (format-meta --sync at both sites): a write at
# the owner completes only once the replica holds it durably.
#   1. Both sites start with the same (zeroed) copy; background
#      replication is slowed to 1 MiB/s.  A writes 8 MiB of random data
#      (O_DIRECT): as soon as its dd returned, B's data device holds all
#      of it, which replication alone could not have moved yet.  A clears
#      its 128 regions without pushing them: B confirmed every write.
#      (warm_regions = 0 here: every confirmed region is cleared at once,
#      which this shows; failover-warm shows them kept dirty.)
#   2. The link is cut: a write at A is held (status shows it) and fails
#      with EIO after miss_timeout (5 s), never acknowledged; the kernel
#      says why.  Reads go on.
#   3. The link comes back: writes complete again.  fio with verify runs
#      at A (random 4 KiB writes, 16 in flight); once in sync, both data
#      devices are equal.
#   4. The volume moves to B (migrate): B's writes now wait for A, whose
#      data device holds them when B's dd returned.
#   5. B's dccd is killed (kill -9) and a write is held with no daemon; a
#      new dccd takes it over (ANNOUNCE_WRITES) and it completes.  Its
#      region, dirty when that dccd started, is cleared as confirmed:
#      B then reports nothing at risk, and A's failover is refused only
#      for want of a witness.
#   6. The mode changes (dccctl mode): refused at the replica; at B, the
#      owner, with the link cut and a write held, `mode vol async`
#      completes the write at once; when the link is back, A has taken
#      the owner's mode (ATTACH) and the write's region is replicated;
#      `mode vol sync` at B reaches A at once (MODE), and B's writes wait
#      for A again.  Bad input changes nothing.
#   7. The sync writes of each owner went on the sync path (a TCP
#      connection of their own, keyed over CURVE).  A drops the packets
#      to its port 7790: B's next write gets no answer there, goes again
#      on the control channel after 3 s and completes; once the port is
#      open again, B opens the path anew.
#   8. A's dccd, restarted with listen_sync = "none", has no sync path:
#      B's next write takes the control channel and completes.
# sites: 2
# disks: data=32M meta=1M
# timeout: 300
# kernels: all
. ./lib.sh

UUID=5a5a5a5a-0000-4000-8000-000000000020
sum_range() { $DD if="$1" bs=1M skip="$2" count="$3" iflag=direct status=none | sha256sum | cut -d' ' -f1; }

dccctl format-meta --data "$DATA" --meta "$META" --uuid $UUID --sync \
	--role "$([ "$SITE" = a ] && echo owner || echo replica)" >/tmp/format.out
check "format-meta --sync says so" grep -q "synchronous replication" /tmp/format.out
check "create" dcc_create vol "$DATA" "$META" 2 miss_timeout 5
expect_eq "the kernel reports sync, no write held" 0 "$(status_field vol held)"
dccd_config 'replication_rate = "1M"' 'warm_regions = 0'
start_dccd
check "paired" dccctl wait vol paired --timeout 60
check "dccctl status: replication_mode sync" sh -c 'dccctl status --json vol | grep -q "\"replication_mode\":\"sync\""'
check "dccctl status says so" sh -c 'dccctl status vol | grep -q "synchronous: a write completes once the peer holds it"'
check "dccctl dump-meta says so" sh -c "dccctl dump-meta $META | grep -q '^replication    sync'"

if [ "$SITE" = a ]; then
	$DD if=/dev/urandom of=/tmp/w1 bs=1M count=8 status=none
	check "1: A writes 8 MiB (O_DIRECT)" $DD if=/tmp/w1 of=/dev/mapper/vol bs=1M seek=4 oflag=direct status=none
	exchange w1 "$(sha256sum </tmp/w1 | cut -d' ' -f1)" >/dev/null
	# Every one of those writes was confirmed by B: their 128 regions are
	# cleared without a push, in well under the 8 s that pushes at 1 MiB/s
	# would take.
	clean() { [ "$(dirty_count vol)" = 0 ]; }
	check "1: A's 128 regions are clean within 4 s" wait_until 4 clean
	confirmed=$(dccctl status --json vol | grep -o '"confirmed":[0-9]*' | cut -d: -f2)
	pushed=$(dccctl status --json vol | grep -o '"replication":{[^}]*' | grep -o '"regions":[0-9]*' | cut -d: -f2)
	[ "${confirmed:-0}" -ge 128 ] && [ "${pushed:-999}" -lt 16 ] &&
		ok "1: ... cleared as confirmed ($confirmed), not pushed ($pushed)" ||
		bad "1: confirmed ${confirmed:-?}, pushed ${pushed:-?}: expected at least 128 and fewer than 16"
	barrier checked1

	link_cut ab
	t0=$(date +%s)
	refuse "2: a write while the replica is away fails" \
		$DD if=/dev/urandom of=/dev/mapper/vol bs=4k count=1 seek=10 oflag=direct status=none &
	w=$!
	check "2: ... it is held meanwhile" wait_until 30 sh -c '[ "$(dcctest field vol held)" -ge 1 ]'
	wait $w
	t=$(($(date +%s) - t0))
	[ $t -ge 4 ] && ok "2: ... after miss_timeout ($t s)" || bad "2: failed after only $t s"
	expect_eq "2: ... nothing held after" 0 "$(status_field vol held)"
	check "2: the kernel says why" sh -c 'dmesg | grep -q "the other site did not confirm writes"'
	check "2: reads go on" $DD if=/dev/mapper/vol of=/dev/null bs=1M count=4 iflag=direct status=none
	link_heal ab
	check "3: paired again" wait_until 300 sh -c '! dccctl status --json | grep -q "\"link\":\"down\""'
	check "3: paired" dccctl wait vol paired --timeout 60
	check "3: a write completes" $DD if=/dev/urandom of=/dev/mapper/vol bs=4k count=1 seek=10 oflag=direct status=none
	check "3: fio with verify (random 4 KiB writes, 16 in flight)" fio --name=v --filename=/dev/mapper/vol \
		--rw=randwrite --bs=4k --size=16M --io_size=4M --iodepth=16 --ioengine=libaio --direct=1 \
		--verify=crc32c --verify_fatal=1 --randrepeat=0 --eta=never --output=/tmp/fio.out
	grep -E "write:|lat \(usec\)" /tmp/fio.out | head -3
	# Step 1 needed 1 MiB/s (a write at B by sync, not by a push); the
	# pushes that clear fio's regions need not wait for it.
	check "3: replication at 64 MiB/s (SIGHUP)" set_rate 64M 67108864
	check "3: in sync" dccctl wait vol in-sync --timeout 120
	exchange sum "$(sum_range "$DATA" 0 32)" >/dev/null
	check "4: migrate to b" dccctl migrate vol --to b
	expected=$(exchange w4 x)
	expect_eq "4: A's data device holds B's 4 MiB when B's dd returned" "$expected" "$(sum_range "$DATA" 20 4)"
	expected=$(exchange w5 x)
	expect_eq "5: ... and the write B's new dccd took over" "$expected" "$(sum_range "$DATA" 26 1)"
	barrier done
	# With the link gone, A's failover is refused only for want of a
	# witness, not for regions B reported at risk.
	link_cut ab
	only_witness() { dccctl status --json vol | grep -q '"failover_why":"nothing confirms that the owner'; }
	if wait_until 30 only_witness; then
		ok "5: B reports nothing at risk once its write is confirmed"
	else
		bad "5: B still reports regions at risk: $(dccctl status --json vol | grep -o '"failover_why":"[^"]*"')"
	fi
	link_heal ab
	barrier risk5
else
	expected=$(exchange w1 x)
	got=$(sum_range "$DATA" 4 8)
	expect_eq "1: B's data device holds the 8 MiB when A's dd returned" "$expected" "$got"
	barrier checked1
	check "2: B sees the link down" wait_until 100 link_down
	check "3: paired again" dccctl wait vol paired --timeout 300
	their=$(exchange sum x)
	expect_eq "3: both data devices are equal" "$their" "$(sum_range "$DATA" 0 32)"
	check "4: b owns the volume" wait_until 100 sh -c '[ "$(dcctest field vol role)" = owner ]'
	$DD if=/dev/urandom of=/tmp/w4 bs=1M count=4 status=none
	check "4: B writes 4 MiB (O_DIRECT)" $DD if=/tmp/w4 of=/dev/mapper/vol bs=1M seek=20 oflag=direct status=none
	exchange w4 "$(sha256sum </tmp/w4 | cut -d' ' -f1)" >/dev/null
	check "5: a longer wait bound" dmsetup message vol 0 miss_timeout 60
	kill -9 "$DCCD"
	wait "$DCCD" 2>/dev/null
	$DD if=/dev/urandom of=/tmp/w5 bs=1M count=1 status=none
	( $DD if=/tmp/w5 of=/dev/mapper/vol bs=1M seek=26 oflag=direct status=none; echo $? >/tmp/w5.rc ) &
	check "5: a write is held with no dccd" wait_until 50 sh -c '[ "$(dcctest field vol held)" -ge 1 ]'
	sleep 2
	[ ! -e /tmp/w5.rc ] && ok "5: ... and waits" || bad "5: it completed without a daemon"
	start_dccd
	check "5: the new dccd completes it" wait_until 300 test -e /tmp/w5.rc
	expect_eq "5: ... with success" 0 "$(cat /tmp/w5.rc)"
	[ "$(cat /tmp/w5.rc)" = 0 ] || { tail -n 30 /tmp/dccd.log; dmesg | tail -n 20; }
	# Its 16 regions were dirty when this dccd started (at risk), and are
	# cleared as confirmed, never pushed.
	confirmed16() { [ "$(dccctl status --json vol | grep -o '"confirmed":[0-9]*' | cut -d: -f2)" -ge 16 ]; }
	check "5: ... and its regions cleared as confirmed" wait_until 20 confirmed16
	sleep 2  # (the report that follows, at the next publish)
	exchange w5 "$(sha256sum </tmp/w5 | cut -d' ' -f1)" >/dev/null
	barrier done
	barrier risk5
fi

# 6: dccctl mode.
mode_is() { dccctl status --json vol | grep -q "\"replication_mode\":\"$1\""; }
check "6: paired" dccctl wait vol paired --timeout 120
if [ "$SITE" = a ]; then
	refuse_saying "6: a replica keeps its owner's mode" "change it at the owner, b" dccctl mode vol async
	expect_eq "6: ... refused (exit 3), still sync" "3 sync" "$(cat /tmp/check.rc) $(mode_is sync && echo sync)"
	barrier mode1
	check "6: a takes the owner's async when they pair again" wait_until 300 mode_is async
	grep -q "replication mode async, as the owner's" /tmp/dccd.log && ok "6: a's log says so" ||
		bad "6: no mode change in a's log"
	barrier mode2
	check "6: a takes the owner's sync at once (MODE)" wait_until 10 mode_is sync
	barrier mode3
	expected=$(exchange w6 x)
	expect_eq "6: A holds B's write as soon as its dd returned (sync again)" "$expected" "$(sum_range "$DATA" 28 1)"
	check "6: in sync" dccctl wait vol in-sync --timeout 120
	exchange sum6 "$(sum_range "$DATA" 0 32)" >/dev/null
else
	refuse_saying "6: a mode that is neither" "sync or async" dccctl mode vol fast
	expect_eq "6: ... usage error (exit 2)" 2 "$(cat /tmp/check.rc)"
	refuse_saying "6: a volume that is not here" "no dcc volume 'nosuch' here" dccctl mode nosuch async
	expect_eq "6: ... not found (exit 4)" 4 "$(cat /tmp/check.rc)"
	expect_eq "6: nothing changed" sync "$(mode_is sync && echo sync)"
	barrier mode1
	link_cut ab
	$DD if=/dev/urandom of=/tmp/w6a bs=1M count=1 status=none
	( $DD if=/tmp/w6a of=/dev/mapper/vol bs=1M seek=27 oflag=direct status=none; echo $? >/tmp/w6.rc ) &
	check "6: a write is held (the link is cut)" wait_until 50 sh -c '[ "$(dcctest field vol held)" -ge 1 ]'
	check "6: b sees the link down (the write still held)" wait_until 50 link_down
	dccctl mode vol async --json >/tmp/mode.json
	check "6: dccctl mode vol async (the owner; the replica is told when they pair)" \
		grep -q '"changed":true.*"peer_told":false' /tmp/mode.json
	check "6: ... completes the held write" wait_until 5 test -e /tmp/w6.rc
	expect_eq "6: ... with success" 0 "$(cat /tmp/w6.rc)"
	expect_eq "6: the kernel holds nothing (async)" - "$(status_field vol held)"
	grep -q "replication mode async here" /tmp/dccd.log && ok "6: b's log says so" || bad "6: no mode change in b's log"
	link_heal ab
	check "6: paired again" dccctl wait vol paired --timeout 300
	barrier mode2
	dccctl mode vol sync >/tmp/mode.out
	check "6: dccctl mode vol sync: the replica is told" grep -q "the replica is told" /tmp/mode.out
	barrier mode3
	$DD if=/dev/urandom of=/tmp/w6 bs=1M count=1 status=none
	check "6: B writes 1 MiB (O_DIRECT)" $DD if=/tmp/w6 of=/dev/mapper/vol bs=1M seek=28 oflag=direct status=none
	exchange w6 "$(sha256sum </tmp/w6 | cut -d' ' -f1)" >/dev/null
	check "6: in sync" dccctl wait vol in-sync --timeout 120
	expect_eq "6: both data devices are equal (the write made in async too)" "$(exchange sum6 x)" \
		"$(sum_range "$DATA" 0 32)"
fi

# 7: the sync path (docs/protocol.md): each owner's sync writes took it.
# A connection that swallows them (A drops its port's packets, as a
# firewall would) is given up after 3 s without an answer: the write
# goes again on the control channel and completes; once the port is open
# again the path is made anew.
on_path() { grep -q "sync: the sync path answered its first write" /tmp/dccd.log; }
opened() { grep -c "sync: sync path to $DCC_PEER_IP port 7790 open" /tmp/dccd.log || true; }
if [ "$SITE" = a ]; then
	check "7: a opened the sync path to b (while it owned the volume)" test "$(opened)" -ge 1
	check "7: ... and its sync writes took it" on_path
	d=$(link_if ab)
	{ load_extra sch_ingress && load_extra cls_u32 && load_extra act_gact; } || bad "7: tc's modules"
	check "7: a drops what comes to its port 7790" sh -c "/usr/sbin/tc qdisc add dev $d ingress &&
		/usr/sbin/tc filter add dev $d parent ffff: protocol ip prio 1 u32 match ip protocol 6 0xff \
			match ip dport 7790 0xffff action drop"
	barrier blackhole
	expected=$(exchange w7 x)
	expect_eq "7: A holds B's write when its dd returned" "$expected" "$(sum_range "$DATA" 30 1)"
	check "7: a lets port 7790 in again" /usr/sbin/tc qdisc del dev "$d" ingress
	barrier reopen
	barrier reopened  # (before this dccd goes away in 8)
else
	check "7: b opened the sync path to a" test "$(opened)" -ge 1
	check "7: ... and its sync writes took it" on_path
	barrier blackhole
	n0=$(opened)
	$DD if=/dev/urandom of=/tmp/w7 bs=1M count=1 status=none
	t0=$(date +%s)
	check "7: B writes 1 MiB (O_DIRECT) into the black hole" \
		$DD if=/tmp/w7 of=/dev/mapper/vol bs=1M seek=30 oflag=direct status=none
	t=$(($(date +%s) - t0))
	[ $t -le 20 ] && ok "7: ... and it completed ($t s)" || bad "7: the write took $t s"
	check "7: b's log says why" grep -q "the sync path failed: no answer within 3 s" /tmp/dccd.log
	exchange w7 "$(sha256sum </tmp/w7 | cut -d' ' -f1)" >/dev/null
	barrier reopen
	reopened() { [ "$(opened)" -gt "$n0" ]; }
	check "7: the sync path opens again" wait_until 40 reopened
	barrier reopened
fi

# 8: with listen_sync = "none" at the replica, the sync writes take the
# control channel, and the owner's log says why.
if [ "$SITE" = a ]; then
	stop_dccd
	dccd_config 'replication_rate = "1M"' 'warm_regions = 0' 'listen_sync = "none"'
	start_dccd
	check "8: paired again (a with no sync path)" dccctl wait vol paired --timeout 120
	barrier nopath
	expected=$(exchange w8 x)
	expect_eq "8: A holds B's write when its dd returned (on the control channel)" "$expected" \
		"$(sum_range "$DATA" 29 1)"
	barrier told  # (this dccd answers b's SYNC_OPEN until b has said why)
else
	barrier nopath
	check "8: paired again" dccctl wait vol paired --timeout 120
	$DD if=/dev/urandom of=/tmp/w8 bs=1M count=1 status=none
	check "8: B writes 1 MiB (O_DIRECT)" $DD if=/tmp/w8 of=/dev/mapper/vol bs=1M seek=29 oflag=direct status=none
	exchange w8 "$(sha256sum </tmp/w8 | cut -d' ' -f1)" >/dev/null
	# (Said as ENOTSUP's answer, or, while the restarted dccd has not
	# taken b's HELLO, as no answer.  A's dccd stays up until then: a
	# peer that went away meanwhile answers nothing at all.)
	check "8: b's log says it has no sync path to a" wait_until 30 grep -qE \
		"the peer has no sync path|the peer did not answer SYNC_OPEN" /tmp/dccd.log ||
		grep -n "sync\|link\|restarted" /tmp/dccd.log | tail -n 40
	barrier told
fi
stop_dccd
check "remove" dmsetup remove vol
finish
