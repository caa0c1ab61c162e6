# An old owner that fenced itself (its handover was never answered) and
# whose dccd then restarts pairs again once the peer is back, and the pair
# ends with one owner and the data whole (H2: "fenced" used to live in
# dccd's memory only, and such a pair never paired again).
#   1. B dies on receiving the handover: A fences, A's dccd restarts, B comes
#      back -> B refuses generation 2 (rule 3), A takes it back (rule 4)
#   2. B dies after taking the volume: A fences, A's dccd restarts, B comes
#      back -> A learns B owns generation 3 (rule 5); B fetches A's writes
# sites: 2
# disks: data=64M meta=1M
# timeout: 400
. ./lib.sh

UUID=5a5a5a5a-0000-4000-8000-00000000000f
dccctl format-meta --data "$DATA" --meta "$META" --uuid $UUID \
	--role "$([ "$SITE" = a ] && echo owner || echo replica)" >/dev/null
check "create" dcc_create vol "$DATA" "$META" 2 miss_timeout 30
dccd_config 'handover_timeout_ms = 4000'
sum_vol() { $DD if=/dev/mapper/vol bs=1M iflag=direct status=none | sha256sum | cut -d' ' -f1; }
is_role_gen() { [ "$(role_gen vol)" = "$1" ]; }
start_dccd
check "paired" dccctl wait vol paired --timeout 60

if [ "$SITE" = a ]; then
	for round in 1 2; do
		barrier "b-armed-$round"
		check "$round: paired with B's new dccd" dccctl wait vol paired --timeout 30
		check "$round: write 4 MiB at A" $DD if=/dev/urandom of=/dev/mapper/vol bs=1M seek=$((round * 8)) count=4 oflag=direct status=none
		want=$(sum_vol)
		exchange "want$round" "$want" >/dev/null
		refuse_saying "$round: the migration gets no answer in time" "no answer in time" \
			dccctl migrate vol --to b --timeout 20
		expect_eq "$round: A fenced itself" "yielding $((round + 1))" "$(role_gen vol)"
		kill9_dccd
		start_dccd
		expect_eq "$round: a restarted fenced dccd stays fenced" "yielding $((round + 1))" "$(role_gen vol)"
		refuse "$round: ... and serves no I/O" $DD if=/dev/mapper/vol bs=4k count=1 iflag=direct of=/dev/null status=none
		barrier "a-restarted-$round"
		if [ $round = 1 ]; then
			check "1: A takes the volume back once B refused it (rule 4)" wait_until 60 is_role_gen "owner 2"
			expect_eq "1: A's data is whole" "$want" "$(sum_vol)"
		else
			check "2: A learns B owns generation 3 (rule 5)" wait_until 60 is_role_gen "replica 3"
		fi
		barrier "settled-$round"
	done
else
	for round in 1 2; do
		stop_dccd
		start_dccd "$([ $round = 1 ] && echo handover-received || echo handover-applied)"
		check "$round: paired (armed to die)" dccctl wait vol paired --timeout 30
		barrier "b-armed-$round"
		want=$(exchange "want$round" x)
		check "$round: B's dccd died in the handover" wait_until 30 dccd_died
		barrier "a-restarted-$round"
		start_dccd
		if [ $round = 1 ]; then
			check "1: B refuses generation 2 for good (rule 3)" wait_until 60 is_role_gen "replica 2"
		else
			expect_eq "2: B persisted owner 3 before dying" "owner 3" "$(role_gen vol)"
			check "2: paired again" dccctl wait vol paired --timeout 60
			expect_eq "2: B reads every write A acknowledged" "$want" "$(sum_vol)"
		fi
		barrier "settled-$round"
	done
fi
expect_eq "no bio timed out" 0 "$(timeouts_of vol)"
stop_dccd
check "remove" dmsetup remove vol
grep -aE "rule|fenced|yielding|warning" /tmp/dccd.log | head -n 30
finish
