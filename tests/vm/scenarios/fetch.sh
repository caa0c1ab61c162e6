# Two sites: the owner starts with nothing; reads of regions it lacks are
# fetched from the replica on first touch and the rest is pulled in the
# background, until both data devices are equal; the waits for fetches are
# in the metrics' latency histogram.
# sites: 2
# disks: data=32M meta=1M
# timeout: 400
. ./lib.sh

UUID=5a5a5a5a-0000-4000-8000-000000000002
if [ "$SITE" = a ]; then
	check "format-meta --empty --role owner" dccctl format-meta --data "$DATA" --meta "$META" --uuid $UUID --empty --role owner
else
	fill_random "$DATA" 32
	check "format-meta --role replica (holds the data)" dccctl format-meta --data "$DATA" --meta "$META" --uuid $UUID --role replica
fi
check "create" dcc_create vol "$DATA" "$META"
dccd_config
start_dccd
check "dccd paired the volume with the peer" wait_until 60 grep -q "vol: paired with $PEER" /tmp/dccd.log

if [ "$SITE" = a ]; then
	check "a read of region 300 is served" $DD if=/dev/mapper/vol bs=64k skip=300 count=1 iflag=direct of=/tmp/r300 status=none
	sum=$($DD if=/dev/mapper/vol bs=1M iflag=direct status=none | sha256sum | cut -d' ' -f1)
	check "hydration completes" wait_until 300 is_valid vol 512/512
	m=$(misses_of vol)
	[ "$m" -ge 1 ] && ok "misses were fetched from the peer ($m)" || bad "no miss recorded"
	# The read of region 300, long before hydration gets there, waited for
	# a fetch: its wait is in the metrics' latency histogram.
	dccctl metrics >/tmp/metrics.out
	n=$(sed -n 's/^dcc_volume_fetch_seconds_count{volume="vol"} //p' /tmp/metrics.out)
	waited=$(sed -n 's/^dcc_volume_fetch_seconds_sum{volume="vol"} //p' /tmp/metrics.out)
	grep -E '^dcc_volume_fetch_seconds_(bucket\{volume="vol",le="(0.01|0.1|1)"\}|sum|count)' /tmp/metrics.out
	[ "${n:-0}" -ge 1 ] && [ -n "$waited" ] && [ "$waited" != 0 ] &&
		ok "fetch latency histogram: $n waits timed, $waited s in all" ||
		bad "fetch latency histogram: count '${n:-none}', sum '${waited:-none}'"
	expect_eq "no timeouts" 0 "$(timeouts_of vol)"
	expect_eq "the owner read what the replica holds" "$sum" "$(exchange sums "$sum")"
	expect_eq "and holds it on its own data device now" "$sum" \
		"$($DD if="$DATA" bs=1M iflag=direct status=none | sha256sum | cut -d' ' -f1)"
else
	sum=$($DD if="$DATA" bs=1M iflag=direct status=none | sha256sum | cut -d' ' -f1)
	exchange sums "$sum" >/dev/null
fi
stop_dccd
check "remove" dmsetup remove vol
grep -E "warning|refused" /tmp/dccd.log | head -n 5
finish
