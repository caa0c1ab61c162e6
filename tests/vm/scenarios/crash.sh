# kill -9 of either daemon at each step of a handover leaves exactly one
# owner once both are back, decided by the pairing rules; then random
# kill -9s of both daemons while a writer runs at the owner lose no
# acknowledged write and hang nothing.  The crash points are dccd's
# DCCD_CRASH_AT (SIGKILL at that step).  An old owner persists "yielding"
# at the next generation before it sends the handover.
#   1. old owner A dies after sending the handover -> B owns 2 (rule 5 at A)
#   2. new owner A dies on receiving it, B fences  -> B takes 3 back (rules 3, 4)
#   3. new owner A dies after persisting owner 4   -> A owns 4 (rule 5 at B)
#   In 2 and 3 the fenced B's dccd restarts too before A is back: a fence is
#   persisted (yielding), so the pair settles all the same.
#   4. old owner A dies on learning B took it (its ack or its ATTACH, which
#      travel on two connections)                  -> B owns 5 (rule 5 at A)
# sites: 2
# disks: data=64M meta=1M
# timeout: 600
. ./lib.sh

UUID=5a5a5a5a-0000-4000-8000-000000000005
# Both copies start equal (zeros); A owns.
if [ "$SITE" = a ]; then
	dccctl format-meta --data "$DATA" --meta "$META" --uuid $UUID --role owner >/dev/null
else
	dccctl format-meta --data "$DATA" --meta "$META" --uuid $UUID --role replica >/dev/null
fi
check "create" dcc_create vol "$DATA" "$META" 2 miss_timeout 60
dccd_config 'replication_rate = "1M"' 'handover_timeout_ms = 4000'
sum_vol() { $DD if=/dev/mapper/vol bs=1M iflag=direct status=none | sha256sum | cut -d' ' -f1; }
# restart [CRASH_POINT]: a fresh dccd, paired again
restart() {
	start_dccd "${1:-}"
	wait_until 60 dccctl wait vol paired --timeout 1
}
is_role_gen() { [ "$(role_gen vol)" = "$1" ]; }

start_dccd
check "paired" dccctl wait vol paired --timeout 60
if [ "$SITE" = a ]; then
	check "write 8 MiB at A" $DD if=/dev/urandom of=/dev/mapper/vol bs=1M seek=8 count=8 oflag=direct status=none
	want=$(sum_vol)
	exchange want "$want" >/dev/null
	stop_dccd
	# 1. old owner dies after sending
	restart handover-sent
	refuse "1: migrate fails: A dies after sending the handover" dccctl migrate vol --to b
	check "1: A's dccd is dead" wait_until 10 dccd_died
	expect_eq "1: A persisted yielding 2 before it sent" "yielding 2" "$(role_gen vol)"
	restart
	check "1: A learns B took generation 2 (rule 5)" wait_until 30 is_role_gen "replica 2"
	barrier step1
	# 2. new owner dies on receipt
	stop_dccd
	restart handover-received
	barrier a-armed-2
	check "2: A's dccd died on the handover" wait_until 30 dccd_died
	barrier b-fenced-2
	restart
	barrier a-back-2
	expect_eq "2: A refused generation 3 for good (rule 3)" "replica 3" "$(role_gen vol)"
	# 3. new owner dies after persisting
	stop_dccd
	restart handover-applied
	barrier a-armed-3
	check "3: A's dccd died after persisting" wait_until 30 dccd_died
	expect_eq "3: A persisted owner at 4 before dying" "owner 4" "$(role_gen vol)"
	barrier b-fenced-3
	restart
	check "3: A owns generation 4" dccctl wait vol owner=a --timeout 30
	barrier a-back-3
	# 4. old owner dies on the ack
	stop_dccd
	restart handover-acked
	refuse "4: migrate fails: A dies on the ack" dccctl migrate vol --to b
	check "4: A's dccd is dead" wait_until 10 dccd_died
	expect_eq "4: A persisted yielding 5" "yielding 5" "$(role_gen vol)"
	restart
	check "4: A learns B owns generation 5 (rule 5)" wait_until 30 is_role_gen "replica 5"
	check "4: and says so" dccctl wait vol owner=b --timeout 30
	barrier step4
else
	want=$(exchange want x)
	barrier step1
	expect_eq "1: B owns generation 2" "owner 2" "$(role_gen vol)"
	expect_eq "1: B reads what A had written" "$want" "$(sum_vol)"
	barrier a-armed-2
	# A's restart re-paired it; B pairs again too before it asks.
	check "2: B paired with A's new dccd" dccctl wait vol paired --timeout 30
	refuse_saying "2: migrate to A has no answer in time (A dies on receipt)" "no answer in time" \
		dccctl migrate vol --to a --timeout 20
	expect_eq "2: ... exit code 5: decided when the sites pair again" 5 "$(cat /tmp/check.rc)"
	expect_eq "2: B fenced itself (yielding 3)" "yielding 3" "$(role_gen vol)"
	refuse "2: a fenced B serves no I/O" $DD if=/dev/mapper/vol bs=4k count=1 iflag=direct of=/dev/null status=none
	kill9_dccd
	start_dccd
	expect_eq "2: B's restarted dccd is still fenced" "yielding 3" "$(role_gen vol)"
	barrier b-fenced-2
	check "2: B takes the volume back once A is back (rule 4)" dccctl wait vol owner=b --timeout 30
	expect_eq "2: B owns generation 3" "owner 3" "$(role_gen vol)"
	expect_eq "2: B reads the same data" "$want" "$(sum_vol)"
	barrier a-back-2
	barrier a-armed-3
	check "3: B paired with A's new dccd" dccctl wait vol paired --timeout 30
	refuse_saying "3: migrate to A gets no answer in time" "no answer in time" \
		dccctl migrate vol --to a --timeout 20
	expect_eq "3: B fenced itself" "yielding 4" "$(role_gen vol)"
	kill9_dccd
	start_dccd
	expect_eq "3: B's restarted dccd is still fenced" "yielding 4" "$(role_gen vol)"
	barrier b-fenced-3
	check "3: B learns A owns generation 4 (rule 5)" wait_until 30 is_role_gen "replica 4"
	barrier a-back-3
	barrier step4
	expect_eq "4: B owns generation 5" "owner 5" "$(role_gen vol)"
	expect_eq "4: B reads the same data" "$want" "$(sum_vol)"
fi
# Exactly one owner, both sides agree.
owners=$(exchange owners "$(role_of vol)")
[ "$owners:$(role_of vol)" = "replica:owner" ] || [ "$owners:$(role_of vol)" = "owner:replica" ] &&
	ok "exactly one owner ($(role_of vol) here, $owners there)" || bad "roles: $(role_of vol) here, $owners there"

# Random kill -9s of both daemons while B's writer runs.
if [ "$SITE" = b ]; then
	check "B hydrated" dccctl wait vol hydrated --timeout 120
	dcctest seqwrite /dev/mapper/vol --seed 21 >/tmp/acks 2>/tmp/writer.err &
	writer=$!
fi
barrier load
# Each kill says what dccd reported just before it: at B (the owner,
# writing) the pushes in flight and the dirty regions, at A what it had
# taken.  B's first kill waits until a push is in flight and comes at
# once (that push may just have ended: the line says what was seen); the
# others come at random moments.
flow_of() { # the replication flow's fields of vol, as "in_flight=N regions=N"
	dccctl status --json vol 2>/dev/null |
		grep -o '"replication":{"bytes":[0-9]*,"bytes_per_second":[0-9]*,"in_flight":[0-9]*,"regions":[0-9]*' |
		sed 's/.*"in_flight":\([0-9]*\),"regions":\([0-9]*\)/in_flight=\1 regions=\2/'
}
for i in 1 2 3; do
	sleep $((1 + $(head -c1 /dev/urandom | od -An -tu1) % 3))
	st=$(flow_of)
	if [ "$SITE" = b ] && [ $i = 1 ]; then
		n=0
		while ! echo "$st" | grep -q 'in_flight=[1-9]' && [ $n -lt 300 ]; do
			st=$(flow_of)
			n=$((n + 1))
		done
		echo "$st" | grep -q 'in_flight=[1-9]' && ok "B's kill 1 comes with a push in flight" ||
			bad "B saw no push in flight to kill it in ($st)"
	fi
	kill9_dccd
	echo "kill $i at $SITE: $st just before, dirty $(dirty_count vol), $(role_gen vol)"
	sleep 0.$(($(head -c1 /dev/urandom | od -An -tu1) % 9 + 1))
	start_dccd
done
check "paired again after the kills" dccctl wait vol paired --timeout 60
# The catch-up after the kills at full speed: 1 MiB/s was for the steps.
check "replication at 64 MiB/s (SIGHUP)" set_rate 64M 67108864
if [ "$SITE" = b ]; then
	kill $writer
	wait $writer
	acked=$(tail -n 1 /tmp/acks | cut -d' ' -f2)
	[ "${acked:-0}" -gt 10 ] && ok "the writer went on through the kills ($acked records)" || bad "writer: ${acked:-no} records"
	check "every acknowledged record reads back at B" dcctest seqverify /dev/mapper/vol --seed 21 --acked "$acked"
	check "in sync again" dccctl wait vol in-sync --timeout 120
	check "migrate to A" dccctl migrate vol --to a
	exchange acked "$acked" >/dev/null
	barrier verified
else
	acked=$(exchange acked x)
	check "A owns it" dccctl wait vol owner=a --timeout 30
	check "every record B acknowledged reads back at A" dcctest seqverify /dev/mapper/vol --seed 21 --acked "$acked"
	barrier verified
fi
expect_eq "no bio timed out" 0 "$(timeouts_of vol)"
stop_dccd
check "remove" dmsetup remove vol
grep -aE "crash point|fenced|rule|generation|warning" /tmp/dccd.log | head -n 40
finish
