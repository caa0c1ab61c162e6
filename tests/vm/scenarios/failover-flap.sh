# A flapping link and the owner's report (docs/protocol.md, PROGRESS):
# a report A counted before the sites were apart must not count at B once
# they paired again, or a failover after the next link loss would lose the
# writes A made while apart.  A's dccd sends each report 16 s after it
# counted it (DCCD_HOLD_PROGRESS_MS, a test hook: a report held up in a
# connection that outlived a link loss).
#   1. A writes, replication catches up, and A counts a report of nothing
#      behind.  A cuts the link for 5 s (both sites see it go) and writes
#      1536 records meanwhile, apart (about 480 of the 512 regions);
#      replication is slow (1 MiB/s), so many are still not at B when
#      the link goes again in 3.
#   2. The sites pair again; then the old reports arrive at B, which
#      ignores them (and logs the first): B shows no backlog figure.
#   3. A cuts the link again before its fresh report arrives.  B's
#      failover without --force is refused because B has had no report
#      since the sites paired (before the fix B took the old report of
#      nothing behind, and only the missing witness stood in the way).
#   4. The link is back: B takes A's fresh reports, both copies end equal,
#      and B's last report says nothing is behind.
# sites: 2
# disks: data=32M meta=1M
# timeout: 300
# kernels: all
. ./lib.sh

UUID=5a5a5a5a-0000-4000-8000-000000000017
HOLD_MS=16000
backlog() { dccctl status --json vol | grep -o '"backlog":[^,}]*' | cut -d: -f2; }

dccctl format-meta --data "$DATA" --meta "$META" --uuid $UUID \
	--role "$([ "$SITE" = a ] && echo owner || echo replica)" >/dev/null
check "create" dcc_create vol "$DATA" "$META"
dccd_config 'replication_rate = "1M"'
if [ "$SITE" = a ]; then
	DCCD_HOLD_PROGRESS_MS=$HOLD_MS start_dccd
else
	start_dccd
fi
check "paired" dccctl wait vol paired --timeout 60
barrier go

if [ "$SITE" = a ]; then
	caught_up() { [ "$(dirty_count vol)" = 0 ]; }
	sleep_until() { local d=$(($1 - $(date +%s))); [ $d -le 0 ] || sleep $d; }
	check "1: A writes 16 records" sh -c 'dcctest seqwrite /dev/mapper/vol --seed 3 --count 16 >/tmp/acks1'
	check "1: replication caught up" wait_until 60 caught_up
	# The report of nothing behind is counted within a publish (0.5 s).
	sleep 1
	t0=$(date +%s)
	check "1: A cuts the link" link_cut ab
	check "1: A sees the link down" wait_until 10 link_down
	check "1: A writes 1536 records while apart" sh -c 'dcctest seqwrite /dev/mapper/vol --seed 4 --count 1536 >/tmp/acks2'
	sleep_until $((t0 + 5))
	check "1: A heals the link" link_heal ab
	check "2: paired again" dccctl wait vol paired --timeout 20
	tp=$(date +%s)
	# The old report leaves 16 s after it was counted (t0 - 1): after this.
	[ $((tp - t0)) -le 13 ] && ok "2: paired again $((tp - t0))s after the cut (the old report leaves at 15 s)" ||
		bad "2: paired again only $((tp - t0))s after the cut: the old report may have come first"
	sleep_until $((t0 + 16))
	barrier old-reports-in
	barrier checked
	# The fresh report, counted as the sites paired, leaves 16 s after.
	[ $(($(date +%s) - tp)) -le 13 ] && ok "3: the link goes again before A's fresh report leaves" ||
		bad "3: too late: A's fresh report may reach B before the cut"
	n=$(dirty_count vol)
	[ "$n" -gt 0 ] && ok "3: A still holds $n regions B lacks" || bad "3: A holds nothing B lacks: the test shows nothing"
	check "3: A cuts the link again" link_cut ab
	sleep 8
	check "4: A heals the link" link_heal ab
else
	check "1: B sees the link go" wait_until 30 link_down
	check "2: paired again" dccctl wait vol paired --timeout 30
	from=$(($(wc -l </tmp/dccd.log) + 1))
	ignored() { tail -n +"$from" /tmp/dccd.log | grep "ignoring the owner's report of [0-9]* regions behind"; }
	check "2: B ignores a report A sent before the sites paired again" wait_until 20 ignored
	ignored | head -n 1
	barrier old-reports-in
	b=$(backlog)
	[ "$b" = null ] && ok "2: B shows no backlog: no report since the sites paired" ||
		bad "2: B shows backlog $b: it took a report A sent before the sites paired again"
	barrier checked
	check "3: B sees the link go again" wait_until 20 link_down
	refuse_saying "3: failover without --force" "no report from the owner since" dccctl failover vol
	cat /tmp/check.out
	check "4: paired again" dccctl wait vol paired --timeout 30
fi

# Both: the fresh reports count, and the copies end equal.
if [ "$SITE" = a ]; then
	set_rate 64M 67108864
	check "4: in sync" dccctl wait vol in-sync --timeout 120
	s=$($DD if=/dev/mapper/vol bs=1M iflag=direct status=none | sha256sum | cut -d' ' -f1)
	expect_eq "4: both copies equal" "$s" "$(exchange sums "$s")"
else
	check "4: in sync (B took A's fresh reports)" dccctl wait vol in-sync --timeout 120
	expect_eq "4: B's last report: nothing behind" 0 "$(backlog)"
	s=$($DD if="$DATA" bs=1M iflag=direct status=none | sha256sum | cut -d' ' -f1)
	exchange sums "$s" >/dev/null
fi
stop_dccd
check "remove" dmsetup remove vol
finish
