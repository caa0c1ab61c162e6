# Losing the owner in async replication: what --force says may be lost,
# against what is lost.
#   1. Both sites start with the same (zeroed) copy.  A writes 1024
#      numbered records (O_DIRECT|O_DSYNC, each acknowledged) to blocks all
#      over the volume while replication runs slowly (1 MiB/s), stops,
#      lets its backlog reach B in a PROGRESS report, and its power is cut.
#   2. At B, failover without --force is refused, naming the owner's last
#      backlog; with --force B owns generation 2 and prints it again.  B
#      then reads every record A acknowledged: some are missing (the loss
#      is real), and the regions they lie in are no more than the backlog
#      reported.  A boots again: its data device holds every record.
# sites: 2
# disks: data=32M meta=1M
# timeout: 300
# kernels: all
. ./lib.sh

UUID=5a5a5a5a-0000-4000-8000-000000000010
RECORDS=1024
boot=${DCC_BOOT:-1}

if [ "$SITE" = a ] && [ "$boot" = 2 ]; then
	check "A's data device holds every record it acknowledged" \
		dcctest seqverify "$DATA" --seed 5 --acked $((RECORDS - 1))
	cat /tmp/check.out
	finish
fi

dccctl format-meta --data "$DATA" --meta "$META" --uuid $UUID \
	--role "$([ "$SITE" = a ] && echo owner || echo replica)" >/dev/null
check "create" dcc_create vol "$DATA" "$META" 2 miss_timeout 5
dccd_config 'replication_rate = "1M"'
start_dccd
check "paired" dccctl wait vol paired --timeout 60

if [ "$SITE" = a ]; then
	dcctest seqwrite /dev/mapper/vol --seed 5 --count $RECORDS >/tmp/acks
	acked=$(tail -n 1 /tmp/acks | cut -d' ' -f2)
	expect_eq "1: A wrote and acknowledged every record" $((RECORDS - 1)) "$acked"
	backlog=$(status_field vol dirty)
	[ "$backlog" -gt 32 ] && ok "1: $backlog regions not yet replicated" || bad "1: backlog only $backlog"
	# The backlog reaches B within a status round (2 s) of the last write.
	sleep 5
	barrier reported
	powercut
else
	barrier reported
	check "2: B sees the link down" wait_until 30 sh -c 'dccctl status --json | grep -q "\"link\":\"down\""'
	refuse_saying "2: failover without --force" "regions not yet the same at both sites" dccctl failover vol
	cat /tmp/check.out
	reported=$(sed -n 's/.*the owner last reported \([0-9]*\) regions.*/\1/p' /tmp/check.out)
	[ "${reported:-0}" -gt 0 ] && ok "2: the owner's last report: $reported regions behind" ||
		bad "2: no backlog in the refusal"
	check "2: status says a failover needs --force, and why" sh -c \
		'dccctl status vol | grep -q "failover: only with --force: .*regions not yet the same at both sites"'
	dccctl failover vol --force >/tmp/fo.out 2>&1 && ok "2: failover --force" || bad "2: failover --force failed"
	cat /tmp/fo.out
	grep -q "not yet replicated: $reported (that report came [0-9.]* s ago);" /tmp/fo.out && ok "2: --force reports the same backlog" ||
		bad "2: --force did not report $reported regions"
	expect_eq "2: B owns generation 2" "owner 2" "$(role_of vol) $(status_field vol generation)"
	dcctest seqverify /dev/mapper/vol --seed 5 --acked $((RECORDS - 1)) --region-bytes 65536 \
		>/tmp/verify.out || true
	tail -n 2 /tmp/verify.out
	lost=$(sed -n 's/^seqverify: bad records in \([0-9]*\) regions$/\1/p' /tmp/verify.out)
	[ "$lost" -gt 0 ] && ok "2: $lost regions lost writes A acknowledged (async)" ||
		bad "2: nothing lost: the test shows nothing"
	[ "$lost" -le "${reported:-0}" ] && ok "2: no more than the $reported regions --force reported" ||
		bad "2: $lost regions lost, more than the $reported reported"
	stop_dccd
	check "remove" dmsetup remove vol
fi
finish
