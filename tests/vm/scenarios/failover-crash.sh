# A failover with a witness, killed (SIGKILL) at each of its steps: the
# witness once it recorded the claim and before it answered; the
# claimant's dccd once the witness granted and before it persisted
# ownership; and once it persisted it, before it answered.  One owner at
# the end, and nothing a acknowledged is lost.
#   1. w runs the witness (crash point witness-claimed); a owns the
#      volume (async), b its replica (both start zeroed) with a's report
#      of no backlog after a 1 MiB write;
#      b's dccd runs with the crash point failover-granted.  a is cut off
#      from both: its lease ends and it serves nothing.
#   2. b's failover: the witness records generation 2 for b and dies
#      before answering; b's failover gives up (no answer), b is still
#      replica 1.  The witness starts again and keeps its record.
#   3. b's failover again: granted again (the record names b already: its
#      answer was lost), and b's dccd dies before it persists: b is still
#      replica 1.  Its dccd starts again (crash point failover-persisted):
#      it has had no report from the owner since it started, so the
#      failover is refused unless forced; forced, it persists owner 2 and
#      dies before it answers.  Its kernel serves a write with no dccd
#      (the lease flag it had as replica, with a witness, was cleared
#      before that persist).  Started again, b owns generation 2 and
#      writes.
#   4. a's links come back: a wrote nothing after it was cut off, so it
#      becomes b's replica (rule 12), and both copies end equal.
# sites: 3
# disks: data=16M meta=1M
# disks-w: state=16M
# timeout: 300
# kernels: all
. ./lib.sh

UUID=5a5a5a5a-0000-4000-8000-000000000012
LEASE_MS=3000
sum_data() { $DD if="$DATA" bs=1M iflag=direct status=none | sha256sum | cut -d' ' -f1; }
is_role_gen() { [ "$(role_gen vol)" = "$1" ]; }
write_mib() { $DD if=/dev/urandom of=/dev/mapper/vol bs=64k count=$((16 * $2)) seek=$((16 * $1)) oflag=direct status=none; }

if [ "$SITE" = w ]; then
	/usr/sbin/mke2fs -q -t ext4 -F "${STATE:-/dev/vda}"
	witness_config $LEASE_MS
	check "w: state on its disk" mount "${STATE:-/dev/vda}" /var/lib/dcc/witness
	check "w: dccd --witness --init" dccd --witness --init --config /etc/dcc/witness.toml
	DCCD_CRASH_AT=witness-claimed dccd --witness --config /etc/dcc/witness.toml 2>>/tmp/witness.log &
	wpid=$!
	check "w: the witness runs" wait_until 5 running $wpid
	barrier s0
	barrier s1
	# a is cut off from both ends: here from w, at b from b.
	check "1: w: cut a-w" link_cut aw
	barrier_with b s1w
	check "2: w: the witness died at its crash point" wait_until 60 sh -c "! kill -0 $wpid"
	grep -q "crash point witness-claimed" /tmp/witness.log && ok "2: w: ... after it recorded the claim" ||
		bad "2: w: no crash point in its log"
	grep -q "claimed by" /tmp/witness.log && bad "2: w: it answered the claim before it died" ||
		ok "2: w: no claim answered before it died"
	expect_eq "2: w: one record on its disk" 1 "$(ls /var/lib/dcc/witness/*.rec 2>/dev/null | wc -l)"
	dccd --witness --config /etc/dcc/witness.toml 2>>/tmp/witness.log &
	check "2: w: the witness runs again" wait_until 5 running $!
	barrier_with b s2w
	barrier_with b s3
	check "4: w: heal a-w" link_heal aw
	barrier end
	grep -q "claimed by b (again: the answer to its claim was lost)" /tmp/witness.log &&
		ok "w: the record it kept answered b's second claim" || bad "w: no second grant of b's claim in its log"
	sed 's/^/witness: /' /tmp/witness.log | tail -n 12
	finish
fi

# ---- a and b -------------------------------------------------------------
dccd_config_witness $LEASE_MS
# Both copies start equal (zeros): no first copy to wait for.
if [ "$SITE" = a ]; then
	dccctl format-meta --data "$DATA" --meta "$META" --uuid $UUID --role owner >/dev/null
else
	dccctl format-meta --data "$DATA" --meta "$META" --uuid $UUID --role replica >/dev/null
fi
check "create" dcc_create vol "$DATA" "$META" 2 miss_timeout 8
barrier s0
if [ "$SITE" = a ]; then start_dccd; else start_dccd failover-granted; fi
check "paired" dccctl wait vol paired --timeout 60
check "in sync" dccctl wait vol in-sync --timeout 120
if [ "$SITE" = a ]; then
	check "1: a holds a lease" wait_until 10 is_field vol lease held
	check "1: a writes 1 MiB" write_mib 3 1
	check "1: replicated" dccctl wait vol in-sync --timeout 60
	barrier_with b s1r
else
	# Only once a is in sync: before, b may still hold a's report from
	# before the write.
	barrier_with a s1r
	check "1: b has a's report of no backlog" dccctl wait vol in-sync --timeout 30
fi
barrier s1

if [ "$SITE" = a ]; then
	# b and w take their ends of a's links down: a gets no answer from
	# either, and hears nothing until they heal them.
	check "1: a's lease ends" wait_until 30 is_field vol lease expired
	refuse "1: a serves nothing" $DD if=/dev/mapper/vol bs=4k count=1 iflag=direct of=/dev/null status=none
	check "4: a becomes b's replica (rule 12)" wait_until 240 is_role_gen "replica 2"
	grep -q "pairing rule 12" /tmp/dccd.log && ok "4: a's log names rule 12" || bad "4: no rule 12 in a's log"
	check "4: in sync" dccctl wait vol in-sync --timeout 120
	s=$(sum_data)
	expect_eq "4: a's copy is b's" "$(exchange sum "$s")" "$s"
else
	check "1: b: cut a-b" link_cut ab
	barrier_with w s1w
	check "1: b sees the link down" wait_until 30 link_down
	# 2: the witness records the claim and dies before answering (refused
	# while a's lease there holds: try once a second).
	for i in $(seq 30); do
		dccctl failover vol >/tmp/fo.out 2>&1
		grep -q "lease at the witness still holds" /tmp/fo.out || break
		sleep 1
	done
	cat /tmp/fo.out
	grep -q "did not answer" /tmp/fo.out && ok "2: b's failover gives up: no answer from the witness" ||
		bad "2: b's failover without an answer: $(cat /tmp/fo.out)"
	expect_eq "2: b is still replica 1" "replica 1" "$(role_gen vol)"
	barrier_with w s2w
	# 3: granted again (once the restarted witness's view of the lease
	# ended), and b's dccd dies before it persists.
	for i in $(seq 30); do
		dccctl failover vol >/tmp/fo.out 2>&1
		dccd_died && break
		sleep 1
	done
	check "3: b's dccd died at its crash point" dccd_died
	grep -q "crash point failover-granted" /tmp/dccd.log && ok "3: ... once the witness granted" ||
		bad "3: no crash point in b's log"
	kill9_dccd
	expect_eq "3: b is still replica 1 (nothing persisted)" "replica 1" "$(role_gen vol)"
	start_dccd failover-persisted
	refuse_saying "3: b's restarted dccd refuses a failover without --force" \
		"no report from the owner since its dccd started" dccctl failover vol
	expect_eq "3: ... as refused (exit 3)" 3 "$(cat /tmp/check.rc)"
	dccctl failover vol --force >/tmp/fo.out 2>&1
	check "3: b's dccd died after it persisted" wait_until 10 dccd_died
	grep -q "crash point failover-persisted" /tmp/dccd.log && ok "3: ... at that crash point" ||
		bad "3: no crash point failover-persisted in b's log"
	kill9_dccd
	expect_eq "3: the kernel says b owns generation 2" "owner 2" "$(role_gen vol)"
	# Its lease flag, set while b was replica (a witness), was cleared
	# before that persist: an owner by force serves at once, no dccd.
	expect_eq "3: ... with no lease flag" "-" "$(status_field vol lease)"
	check "3: b writes with its dccd dead" write_mib 12 1
	start_dccd
	check "3: b writes 2 MiB" write_mib 8 2
	expect_eq "3: ... by force" forced \
		"$(dccctl status --json vol | sed -n 's/.*"origin":"\([a-z]*\)".*/\1/p')"
	barrier_with w s3
	check "4: b: heal a-b" link_heal ab
	check "4: paired" dccctl wait vol paired --timeout 90
	check "4: in sync" dccctl wait vol in-sync --timeout 120
	expect_eq "4: one owner: b, generation 2" "owner 2" "$(role_gen vol)"
	exchange sum "$(sum_data)" >/dev/null
fi
barrier end
stop_dccd
grep -aE "FAILOVER|crash point|pairing rule|warning" /tmp/dccd.log | head -n 12
finish
