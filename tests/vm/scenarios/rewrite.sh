# A region rewritten while its push is in flight stays dirty until the
# newer data reached the replica (C1: a late answer to the older push
# must not clear the bit of the newer write).  Over a link with 50 ms each
# way, the owner rewrites the same 4 regions again and again; the volume
# moves the moment the writer stops, three times, and each new owner must
# read the last record written to every block.  Once in sync, both data
# devices are equal.
# sites: 2
# disks: data=16M meta=1M
# timeout: 400
# kernels: all
. ./lib.sh

UUID=5a5a5a5a-0000-4000-8000-00000000000d
BLOCKS=64 # 4 regions of 64 KiB
dccctl format-meta --data "$DATA" --meta "$META" --uuid $UUID \
	--role "$([ "$SITE" = a ] && echo owner || echo replica)" >/dev/null
check "create" dcc_create vol "$DATA" "$META"
dccd_config
check "50 ms each way" /usr/sbin/tc qdisc add dev eth0 root netem delay 50ms
start_dccd
check "paired" dccctl wait vol paired --timeout 60

for round in 1 2 3; do
	owner=$([ $((round % 2)) = 1 ] && echo a || echo b)
	if [ "$SITE" = "$owner" ]; then
		count=$(dcctest rewrite /dev/mapper/vol --seed $round --blocks $BLOCKS --seconds 8 | sed -n 's/^REWRITE //p')
		check "$round: move to $PEER as the writer stops" dccctl migrate vol --to "$PEER"
		[ "${count:-0}" -gt $BLOCKS ] && ok "$round: $count records written" || bad "$round: the writer wrote ${count:-nothing}"
		exchange "count$round" "$count" >/dev/null
	else
		count=$(exchange "count$round" x)
		check "$round: this site owns it" dccctl wait vol owner="$SITE" --timeout 60
		check "$round: every block holds its last record" \
			dcctest rewriteverify /dev/mapper/vol --seed $round --blocks $BLOCKS --count "$count"
		cat /tmp/check.out
	fi
	barrier "round$round"
done
check "in sync" dccctl wait vol in-sync --timeout 120
sum=$($DD if="$DATA" bs=1M iflag=direct status=none | sha256sum | cut -d' ' -f1)
expect_eq "both data devices are equal once in sync" "$sum" "$(exchange sums "$sum")"
stop_dccd
check "remove" dmsetup remove vol
finish
