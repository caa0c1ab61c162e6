# Failover with a witness at a third site (w), asynchronous replication.
#   1. w runs `dccd --witness` with its records on a disk; a owns the
#      volume, b gets its first copy.  w's power is cut: a serves on (the
#      lease from its replica), and w comes back with its record.
#   2. The link a-b is cut, both still reach w: a goes on writing (the
#      witness's lease), and b's failover is refused: the owner's lease at
#      the witness holds.  With b cut off from w as well for a moment, its
#      failover gets no answer and gives up (a second one meanwhile is
#      refused at once).
#   3. a is cut off from w too: within its lease its kernel stops serving
#      (a write waits, then fails with EIO after miss_timeout; never
#      acknowledged).  b's failover, without --force, is granted by the
#      witness once a's lease there ended; b's dccd dies once it persisted
#      generation 2 (a crash point): its kernel, whose lease flag was set
#      while b was replica, holds a write until b's dccd is back and holds
#      the witness's lease.  b owns generation 2 and writes.
#      a's dccd is killed meanwhile and started again: still no lease.
#   4. a's links come back: a, the old owner, wrote nothing acknowledged
#      after its lease ended, so it becomes b's replica (rule 12); only the
#      regions b wrote and those a had not replicated move (counted), and
#      both copies end equal.  What a wrote while cut off from b only is
#      lost, as asynchronous replication says.
#   5. The link a-b is cut and b's dccd restarted without the witness
#      (configured at a only): b served under leases, so it serves no I/O
#      (a write waits, then fails) until the sites pair and a hears from
#      b's ATTACH that it serves without a lease.  After a handover to a
#      and back to b (which owns generation 4 then, without a witness
#      still), cut off from b, a's failover is refused, naming why.
# sites: 3
# disks: data=16M meta=1M
# disks-w: state=16M
# timeout: 300
# kernels: all
. ./lib.sh

UUID=5a5a5a5a-0000-4000-8000-000000000010
LEASE_MS=3000
sum_data() { $DD if="$DATA" bs=1M iflag=direct status=none | sha256sum | cut -d' ' -f1; }
is_role_gen() { [ "$(role_gen vol)" = "$1" ]; }
pushed() { dccctl status --json vol | sed -n 's/.*"replication":{[^}]*"regions":\([0-9]*\).*/\1/p'; }
witness_is() { [ "$(dccctl status --json | sed -n 's/.*"witness":"\([a-z]*\)".*/\1/p')" = "$1" ]; }
now_ms() { awk '{ printf "%d", $1 * 1000 }' /proc/uptime; }
write_mib() { $DD if=/dev/urandom of=/dev/mapper/vol bs=64k count=$((16 * $2)) seek=$((16 * $1)) oflag=direct status=none; }
boot=${DCC_BOOT:-1}

if [ "$SITE" = w ]; then
	STATE_DEV=${STATE:-/dev/vda}
	[ "$boot" = 1 ] && /usr/sbin/mke2fs -q -t ext4 -F "$STATE_DEV"
	witness_config $LEASE_MS
	if [ "$boot" = 2 ]; then
		# Its disk not mounted yet: an empty directory is no witness's state.
		refuse_saying "1: w: no witness starts without its disk" \
			"is not a witness's state directory" dccd --witness --config /etc/dcc/witness.toml
		expect_eq "1: ... exit 2, nothing written" "2 0" "$(cat /tmp/check.rc) $(ls -A /var/lib/dcc/witness | wc -l)"
	fi
	check "w: state on its disk" mount "$STATE_DEV" /var/lib/dcc/witness
	[ "$boot" = 1 ] && check "w: dccd --witness --init" dccd --witness --init --config /etc/dcc/witness.toml
	if [ "$boot" = 2 ]; then
		n=$(ls /var/lib/dcc/witness/*.rec 2>/dev/null | wc -l)
		expect_eq "1: w's record survived its power cut" 1 "$n"
	fi
	# Back from its power cut, the witness waits until a wrote on its
	# replica's promises alone.
	[ "$boot" = 2 ] && barrier_with a s1w
	dccd --witness --config /etc/dcc/witness.toml 2>>/tmp/witness.log &
	check "w: the witness runs" wait_until 5 running $!
	if [ "$boot" = 1 ]; then
		barrier s0
		barrier s1
		powercut
	fi
	barrier s2
	barrier s3
	barrier s4
	barrier_with b s4b
	barrier s5
	barrier s6
	barrier s7
	barrier end
	grep -q "claim" /tmp/witness.log && ok "w: its log shows the claim" || bad "w: no claim in its log"
	sed 's/^/witness: /' /tmp/witness.log | tail -n 20
	finish
fi

# ---- a and b -------------------------------------------------------------
dccd_config_witness $LEASE_MS
if [ "$SITE" = a ]; then
	fill_random "$DATA" 16
	dccctl format-meta --data "$DATA" --meta "$META" --uuid $UUID --role owner >/dev/null
else
	dccctl format-meta --data "$DATA" --meta "$META" --uuid $UUID --empty >/dev/null
fi
check "create" dcc_create vol "$DATA" "$META" 2 miss_timeout 8
barrier s0
if [ "$SITE" = a ]; then start_dccd; else start_dccd failover-persisted; fi
check "paired" dccctl wait vol paired --timeout 60
check "in sync" dccctl wait vol in-sync --timeout 120
if [ "$SITE" = a ]; then
	check "1: a holds a lease" wait_until 10 is_field vol lease held
	check "1: status: the witness is up" wait_until 10 witness_is up
	dccctl status | head -n 1 | grep -q ", witness up" && ok "1: ... and its text says so" ||
		bad "1: status text: $(dccctl status | head -n 1)"
	dccctl status vol | grep -q "NO LEASE" && bad "1: status says no lease" || ok "1: status shows no lease warning"
else
	refuse_saying "1: b: failover refused while a is reachable" "use dccctl migrate" dccctl failover vol
	expect_eq "1: a replica needs no lease" none "$(dccctl status --json vol | sed -n 's/.*"lease":"\([a-z]*\)".*/\1/p')"
	# ... but its kernel's lease flag is set (with no lease), ahead of
	# any commit that makes it owner.
	check "1: b's kernel has the lease flag set" wait_until 10 is_field vol lease expired
fi
# (the events tell of w's absence whatever its length)
dccctl events --json >/tmp/events1.out 2>&1 &
events1=$!
barrier s1
# 1: w's power is cut.  a serves on, on its replica's promises; b stays
# its paired replica.
check "1: an event: the witness went down (w's power cut)" \
	wait_until 20 grep -q '"event":"witness".*"state":"down"' /tmp/events1.out
if [ "$SITE" = b ]; then
	expect_eq "1: b unchanged while w is away" "replica 1 paired" \
		"$(role_gen vol) $(dccctl wait vol paired --timeout 1 >/dev/null && echo paired)"
fi
if [ "$SITE" = a ]; then
	sleep $((LEASE_MS / 1000 + 2))
	check "1: a writes while w is down (peer lease)" write_mib 12 1
	expect_eq "1: a's lease holds" held "$(status_field vol lease)"
	# Replicated before the cut, and b has a's report saying so: b's
	# failovers below weigh the backlog a last reported.
	check "1: a's writes replicated" dccctl wait vol in-sync --timeout 60
	barrier_with w s1w
fi
barrier s2
check "1: an event: the witness is back" \
	wait_until 30 grep -q '"event":"witness".*"state":"up"' /tmp/events1.out
kill $events1 2>/dev/null
[ "$SITE" = b ] && check "1: b has a's report of no backlog" dccctl wait vol in-sync --timeout 30
barrier_with $PEER s2b
# For a failure's diagnosis: each site's view before the link a-b is cut
# (b's failover below weighs the backlog a last reported).
dccctl status vol | sed "s/^/state at s2, $SITE: /"
tail -n 15 /tmp/dccd.log | sed "s/^/dccd log at s2, $SITE: /"

# 2: the link a-b is cut; both reach w.
# (a's end: b's packets to a are lost; a heals it in step 4)
[ "$SITE" = a ] && check "2: cut a-b" link_cut ab
check "2: the link is down" wait_until 20 link_down
barrier s3
if [ "$SITE" = a ]; then
	check "2: status: the witness is up again" wait_until 30 witness_is up
	check "2: a writes with only the witness's lease" write_mib 0 1
	sleep $((LEASE_MS / 1000 + 1))
	expect_eq "2: a's lease holds (the witness)" held "$(status_field vol lease)"
	check "2: a still writes" write_mib 1 1
	barrier s4
	# 3: a is cut off from w as well.
	dccctl events --json vol >/tmp/events3.out 2>&1 &
	events=$!
	check "3: cut a-w" link_cut aw
	t0=$(now_ms)
	check "3: a's lease ends" wait_until 15 is_field vol lease expired
	check "3: an event says so" wait_until 10 grep -q '"event":"lease".*"state":"expired"' /tmp/events3.out
	took=$(($(now_ms) - t0))
	check "3: status: the witness is down" wait_until 10 witness_is down
	check "3: ... an event says so" wait_until 5 grep -q '"event":"witness".*"state":"down"' /tmp/events3.out
	kill $events 2>/dev/null
	[ "$took" -le $((LEASE_MS + 1000)) ] && ok "3: a stopped serving $took ms after it lost both (lease $LEASE_MS ms)" ||
		bad "3: a stopped serving only $took ms after it lost both (lease $LEASE_MS ms)"
	dccctl status vol | grep -q "NO LEASE" && ok "3: status says so" || bad "3: status does not say NO LEASE"
	( write_mib 4 1; echo $? >/tmp/held.rc ) &
	sleep 2
	[ ! -e /tmp/held.rc ] && ok "3: a write at a waits (no lease)" || bad "3: a write at a did not wait: rc $(cat /tmp/held.rc)"
	check "3: ... and fails after miss_timeout" wait_until 15 test -e /tmp/held.rc
	[ "$(cat /tmp/held.rc)" != 0 ] && ok "3: the write failed (EIO), never acknowledged" || bad "3: the write succeeded without a lease"
	# The old owner's dccd dies (kill -9) while b takes over, and starts
	# again still cut off: its kernel serves nothing all along.
	kill9_dccd
	expect_eq "3: a's dccd killed: its kernel still owner 1, no lease" "owner 1 expired" \
		"$(role_gen vol) $(status_field vol lease)"
	start_dccd
	sleep 2
	expect_eq "3: ... and cannot renew: owner 1, no lease" "owner 1 expired" \
		"$(role_gen vol) $(status_field vol lease)"
	# b has taken over by now (its lease ended at the witness about when
	# a's did, 15 s ago, and b claims once a second); a little more.
	sleep 3
	n0=$(pushed)
	check "4: heal a-w" link_heal aw
	check "4: heal a-b" link_heal ab
	barrier s5
	check "4: a becomes b's replica (rule 12)" wait_until 60 is_role_gen "replica 2"
	grep -q "pairing rule 12" /tmp/dccd.log && ok "4: a's log names rule 12" || bad "4: no rule 12 in a's log"
	check "4: paired" dccctl wait vol paired --timeout 60
	check "4: in sync" dccctl wait vol in-sync --timeout 120
	# b wrote 2 MiB (32 regions); a had 2 MiB (32) not replicated to b,
	# which it fetches back: 64 of 256, or a few more for a push sent twice.
	n=$(($(pushed) - n0))
	[ "$n" -ge 64 ] && [ "$n" -le 96 ] && ok "4: a received $n regions (64 changed of 256)" ||
		bad "4: a received $n regions; 64 of 256 changed"
	expect_eq "4: a's copy is b's" "$(exchange sum "$(sum_data)")" "$(sum_data)"
else
	# b cut off from w too: its failover's CLAIM gets no answer and it gives
	# up; while it waits, a second failover is refused at once.
	check "2: cut b-w" link_cut bw
	dccctl failover vol >/tmp/fo.out 2>&1 &
	first=$!
	check "2: b's failover asks the witness" wait_until 10 grep -q "failover: claiming generation" /tmp/dccd.log
	refuse_saying "2: b: a second failover while one is under way is refused" \
		"failover of this volume is under way" dccctl failover vol
	rc=0
	wait $first || rc=$?
	cat /tmp/fo.out
	grep -q "did not answer" /tmp/fo.out && ok "2: b's failover gives up: no answer from the witness" ||
		bad "2: b's failover without an answer: $(cat /tmp/fo.out)"
	expect_eq "2: exit code 1 (no answer)" 1 "$rc"
	expect_eq "2: b is still replica" "replica 1" "$(role_gen vol)"
	check "2: heal b-w" link_heal bw
	# (until b's connection to w is back: an attempt meanwhile gets no answer)
	check "2: b reaches w again" wait_until 30 sh -c \
		'dccctl failover vol 2>&1 | grep -q "lease at the witness still holds"'
	refuse_saying "2: b: failover refused while a's lease at the witness holds" \
		"lease at the witness still holds" dccctl failover vol
	expect_eq "2: exit code 3 (refused)" 3 "$(cat /tmp/check.rc)"
	check "2: status: a failover is the witness's to grant" sh -c \
		'dccctl status vol | grep -q "failover: possible, the witness decides" &&
		dccctl status --json vol | grep -q "\"failover\":\"ask-witness\""'
	barrier s4
	# Refused while a's lease at the witness holds: try once a second.
	# Granted, b's dccd dies once it persisted ownership (its crash point).
	for i in $(seq 30); do
		dccctl failover vol >/tmp/fo.out 2>&1 && break
		dccd_died && break
		sleep 1
	done
	cat /tmp/fo.out
	check "3: b's dccd died once the failover was granted and persisted" dccd_died
	grep -q "crash point failover-persisted" /tmp/dccd.log && ok "3: ... at that crash point" ||
		bad "3: no crash point failover-persisted in b's log"
	kill9_dccd
	expect_eq "3: the kernel says b owns generation 2" "owner 2" "$(role_gen vol)"
	# Its dccd died before it told the kernel of any lease: the flag, set
	# while b was replica, holds b's I/O.
	expect_eq "3: b's kernel holds I/O for a lease" expired "$(status_field vol lease)"
	rm -f /tmp/held3.rc
	t3=$(now_ms)
	(write_mib 8 1; echo $? >/tmp/held3.rc) &
	sleep 1
	[ ! -e /tmp/held3.rc ] && ok "3: a write at b waits (no lease)" ||
		bad "3: a write at b did not wait: rc $(cat /tmp/held3.rc)"
	# (within miss_timeout, 8 s: b's dccd starts and renews at once)
	start_dccd
	check "3: b holds a lease (the witness's)" wait_until 10 is_field vol lease held
	check "3: the waiting write ended" wait_until 15 test -e /tmp/held3.rc
	expect_eq "3: ... acknowledged once b held the lease" 0 "$(cat /tmp/held3.rc)"
	echo "3: the held write took $(($(now_ms) - t3)) ms or less (miss_timeout 8 s)"
	expect_eq "3: ... by failover" failover "$(dccctl status --json vol | sed -n 's/.*"origin":"\([a-z]*\)".*/\1/p')"
	check "3: b writes" write_mib 8 2
	barrier_with w s4b
	barrier s5
	check "4: paired" dccctl wait vol paired --timeout 90
	check "4: in sync" dccctl wait vol in-sync --timeout 120
	exchange sum "$(sum_data)" >/dev/null
fi
# 5: b runs without a witness.
[ "$SITE" = a ] && check "5: cut a-b" link_cut ab
check "5: the link is down" wait_until 20 link_down
barrier s6
if [ "$SITE" = b ]; then
	stop_dccd
	dccd_config
	start_dccd
	# (The lease the witness granted the dccd before may still run: a
	# write within it is allowed.)
	check "5: b's last lease ends" wait_until 15 is_field vol lease expired
	( write_mib 2 1; echo $? >/tmp/held5.rc ) &
	sleep 2
	[ ! -e /tmp/held5.rc ] && ok "5: b, restarted without a witness while cut off, holds its writes" ||
		bad "5: b's write did not wait: rc $(cat /tmp/held5.rc)"
	check "5: b's log says why" grep -q "no witness is configured now" /tmp/dccd.log
	check "5: ... and the write fails after miss_timeout" wait_until 15 test -e /tmp/held5.rc
	[ "$(cat /tmp/held5.rc)" != 0 ] && ok "5: never acknowledged" || bad "5: b's write succeeded unpaired"
	barrier s7
	check "5: b pairs again, without a witness" dccctl wait vol paired --timeout 60
	check "5: b writes (no lease)" write_mib 2 1
	barrier_with a s8
	barrier_with a s9
else
	barrier s7
	check "5: heal a-b" link_heal ab
	check "5: a hears that the owner runs without a witness" \
		wait_until 60 grep -q "the owner runs without a witness" /tmp/dccd.log
	barrier_with b s8
	# A handover to a and back: b owns generation 4, as unwitnessed as
	# it owned 2 (a heard so when they paired, not since).
	check "5: migrate to a" dccctl migrate vol --to a
	check "5: ... and back to b" dccctl migrate vol --to b
	check "5: a has b's report of no backlog" dccctl wait vol in-sync --timeout 60
	check "5: cut a-b again" link_cut ab
	check "5: the link is down again" wait_until 20 link_down
	# b renews nothing at the witness: its lease there ran out long ago.
	sleep $((LEASE_MS / 1000 + 2))
	refuse_saying "5: a: failover refused: b serves without a lease" \
		"the owner runs without a witness" dccctl failover vol
	expect_eq "5: exit code 3 (refused)" 3 "$(cat /tmp/check.rc)"
	expect_eq "5: a is still replica" "replica 4" "$(role_gen vol)"
	check "5: heal a-b" link_heal ab
	check "5: paired again" dccctl wait vol paired --timeout 60
	barrier_with b s9
fi
barrier end
stop_dccd
finish
