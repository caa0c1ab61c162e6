# Going on alone in sync (on_peer_loss = continue), and the witness's
# fence that keeps the replica from failing over past what the owner
# acknowledged without it.
#   1. w runs the witness; a owns a volume formatted --sync at both sites
#      (zeroed copies), with on_peer_loss = "continue" for it in dccd's
#      configuration ([volume.vol]).  b waits for a's first report.
#   2. The link a-b is cut; both still reach w.  a writes 300 numbered
#      4 KiB records (O_DIRECT|O_DSYNC): the first wait for b, then the
#      witness fences b at a's request (OUTDATE) and every record is
#      acknowledged without b.  Status and the log say a goes on alone.
#      a's power is cut.
#   3. At b, `dccctl failover vol` is refused (exit 3) because the witness
#      holds b's copy outdated: b lacks what a acknowledged alone.  b stays
#      replica 1.
#   4. a boots again (which ends the cut): its new dccd learns the fence
#      from the witness's answers, pushes what it wrote alone, and once b
#      holds all of it lifts the fence (UPTODATE with the fence's epoch).
#      Every record a acknowledged is on b's disk.
#   5. With this dccd running, a is cut off from b again, goes on alone
#      and writes 100 more records; once the link is back they reach b (a
#      write completed alone is never cleared as confirmed by b).
# sites: 3
# disks: data=16M meta=1M
# timeout: 300
# kernels: all
. ./lib.sh

UUID=5a5a5a5a-0000-4000-8000-000000000031
LEASE_MS=3000
RECORDS=300
LAST=$((RECORDS - 1))  # records 0 to LAST

if [ "$SITE" = w ]; then
	witness_config $LEASE_MS
	check "w: dccd --witness --init" dccd --witness --init --config /etc/dcc/witness.toml
	dccd --witness --config /etc/dcc/witness.toml 2>>/tmp/witness.log &
	barrier s0
	barrier s1
	barrier s2
	barrier_with b s3
	check "w: its log shows a's fence of b" grep -q "goes on without its replica" /tmp/witness.log
	check "w: ... lifted once b holds what a wrote" wait_until 200 grep -q "fence of epoch [0-9]* is lifted" /tmp/witness.log
	barrier_with a s5w
	sed 's/^/witness: /' /tmp/witness.log | tail -n 8
	finish
fi

# (the table last: what follows a [volume.NAME] line belongs to it)
dccd_config_witness $LEASE_MS "[volume.vol]" 'on_peer_loss = "continue"'

if [ "$SITE" = a ] && [ "${DCC_BOOT:-1}" = 2 ]; then
	ok "4: a is back after its power cut"
	check "4: the volume comes back" dcc_create vol "$DATA" "$META" 2 miss_timeout 20
	start_dccd
	check "4: a holds a lease" wait_until 30 is_field vol lease held
	check "4: paired" dccctl wait vol paired --timeout 90
	check "4: in sync" dccctl wait vol in-sync --timeout 120
	check "4: a lifts the fence" wait_until 30 grep -q "the witness lifted the fence" /tmp/dccd.log
	dccctl status --json vol | grep -q '"fence_epoch":0' && ok "4: status: no fence" ||
		bad "4: status still shows a fence"
	grep -q "GOING ON ALONE" /tmp/dccd.log && bad "4: a went on alone again" || ok "4: a did not go on alone again"
	barrier_with b s4
	check "5: cut a-b again" link_cut ab
	check "5: a sees the link down" wait_until 20 link_down
	check "5: a writes 100 more records" sh -c "dcctest seqwrite /dev/mapper/vol --seed 6 --count 100 >/tmp/acked5"
	expect_eq "5: ... every one acknowledged" "ACK 99" "$(tail -n 1 /tmp/acked5)"
	check "5: ... alone" grep -q "GOING ON ALONE" /tmp/dccd.log
	check "5: heal a-b" link_heal ab
	check "5: paired" dccctl wait vol paired --timeout 90
	check "5: in sync" dccctl wait vol in-sync --timeout 120
	barrier_with b s5
	barrier_with w s5w
	stop_dccd
	finish
fi

dccctl format-meta --data "$DATA" --meta "$META" --uuid $UUID --sync \
	--role "$([ "$SITE" = a ] && echo owner || echo replica)" >/dev/null
check "create" dcc_create vol "$DATA" "$META" 2 miss_timeout 20
barrier s0
start_dccd
check "1: paired" dccctl wait vol paired --timeout 60
# b refuses any failover until it has a report from a since they paired
# (failover-crash tests that refusal); without this a cut in the first
# second after pairing could make step 3 test it instead of the fence.
[ "$SITE" = b ] && check "1: b has a's report of no backlog" dccctl wait vol in-sync --timeout 30
[ "$SITE" = a ] && check "1: a holds a lease" wait_until 10 is_field vol lease held
dccctl status vol | grep -q "with the peer away: continue" && ok "1: status names the policy" ||
	bad "1: status does not name on_peer_loss: $(dccctl status vol)"
barrier s1

if [ "$SITE" = a ]; then
	check "2: cut a-b" link_cut ab
	check "2: a sees the link down" wait_until 20 link_down
	check "2: a writes $RECORDS records" sh -c "dcctest seqwrite /dev/mapper/vol --seed 5 --count $RECORDS >/tmp/acked"
	expect_eq "2: ... every one acknowledged without b" "ACK $LAST" "$(tail -n 1 /tmp/acked)"
	check "2: a's log: the witness fenced b first" grep -q "GOING ON ALONE: the witness holds the replica outdated" /tmp/dccd.log
	check "2: status: going on alone" sh -c "dccctl status --json vol | grep -q '\"alone\":true'"
	dccctl status vol | grep -q "GOING ON ALONE" && ok "2: ... in words too" || bad "2: status text says nothing of it"
	barrier s2
	powercut
fi

check "2: b sees the link down" wait_until 30 link_down
barrier s2
# a's power is cut now.  The fence refuses b's claim whether or not a's
# lease at the witness ended (try again while the lease is what it names).
for i in $(seq 30); do
	rc=0
	dccctl failover vol >/tmp/fo.out 2>&1 || rc=$?
	grep -q "lease at the witness still holds" /tmp/fo.out || break
	sleep 1
done
cat /tmp/fo.out
grep -q "went on writing without this copy" /tmp/fo.out &&
	ok "3: b's failover is refused: the witness holds b's copy outdated" ||
	bad "3: b's failover was not refused for the fence: $(tr '\n' ' ' </tmp/fo.out | head -c 300)"
expect_eq "3: ... as refused (exit 3)" 3 "$rc"
expect_eq "3: b is still replica 1" "replica 1" "$(role_gen vol)"
barrier_with w s3
check "4: paired with a again" dccctl wait vol paired --timeout 200
check "4: in sync" dccctl wait vol in-sync --timeout 120
check "4: every record a acknowledged alone is on b's disk" \
	dcctest seqverify "$DATA" --seed 5 --acked $LAST
barrier_with a s4
barrier_with a s5
check "5: every record a acknowledged alone the second time is on b's disk" \
	dcctest seqverify "$DATA" --seed 6 --acked 99
stop_dccd
finish
