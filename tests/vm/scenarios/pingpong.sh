# Planned migrations over a link with a 20 ms RTT (netem, 10 ms each way).
# First B, which starts empty, takes the volume and gives it back at once,
# before it has hydrated, with a miss its dccd has not seen yet.  Then 4 migrations back and forth, asked
# alternately by the old and the new owner, with writes at each owner in
# between; after each one the new owner reads everything right at once,
# O_DIRECT and through the page cache.
# sites: 2
# disks: data=32M meta=1M
# timeout: 900
. ./lib.sh

UUID=5a5a5a5a-0000-4000-8000-000000000006
check "netem: 10 ms each way" /usr/sbin/tc qdisc add dev eth0 root netem delay 10ms
if [ "$SITE" = a ]; then
	fill_random "$DATA" 32
	dccctl format-meta --data "$DATA" --meta "$META" --uuid $UUID >/dev/null
else
	dccctl format-meta --data "$DATA" --meta "$META" --uuid $UUID --empty >/dev/null
fi
check "create" dcc_create vol "$DATA" "$META"
# One region at a time, so that B is far from hydrated when it gives the
# volume back in step 0 (a wider window pulled all but a few regions first).
dccd_config 'replication_rate = "2M"' 'replication_window = 1'
start_dccd
check "paired" dccctl wait vol paired --timeout 60
sum_direct() { $DD if=/dev/mapper/vol bs=1M iflag=direct status=none | sha256sum | cut -d' ' -f1; }
sum_cached() { $DD if=/dev/mapper/vol bs=1M status=none | sha256sum | cut -d' ' -f1; }
# Read the whole volume once through the page cache, so that a stale page
# cache at the next owner would show.
sum_cached >/dev/null

# First: to B and straight back, asked at B before B has hydrated.
if [ "$SITE" = a ]; then
	$DD if=/dev/urandom of=/dev/mapper/vol bs=1M seek=20 count=4 oflag=direct status=none
	want=$(sum_direct)
	check "0: migrate to B" dccctl migrate vol --to b
	check "0: A owns it again" dccctl wait vol owner=a --timeout 60
	expect_eq "0: A reads its own data back" "$want" "$(sum_direct)"
	barrier back0
else
	check "0: B owns it" dccctl wait vol role=owner --timeout 60
	check "0: B paired again as owner" dccctl wait vol paired --timeout 60
	v=$(valid_count vol)
	# The request to give the volume back reaches dccd together with a
	# miss it has not asked for yet: dccd is stopped on a connection it
	# accepted, a read of the last region (far from hydrated) waits, the
	# request is sent, and dccd goes on.  It serves clients before kernel
	# events, so it hands over with a lock it does not know of, which it
	# must end all the same.
	m0=$(misses_of vol)
	dcctest ctlsend /run/dcc/dccd.sock 'migrate vol a\n' --delay 1500 >/tmp/m0 &
	sender=$!
	sleep 0.3
	kill -STOP "$DCCD"
	$DD if=/dev/mapper/vol of=/dev/null bs=64k skip=511 count=1 iflag=direct status=none 2>/dev/null &
	reader=$!
	wait_until 5 sh -c "[ \$(dcctest field vol misses) -gt $m0 ]" || bad "0: the read of region 511 did not miss"
	sleep 1.5
	kill -CONT "$DCCD"
	wait $sender
	wait $reader && bad "0: the read at B, which gave the volume up, succeeded"
	grep -q '"ok":true' /tmp/m0 && ok "0: B hands it back at once (asked at B)" ||
		bad "0: B hands it back at once (asked at B): $(cat /tmp/m0)"
	[ "$v" -lt 512 ] && ok "0: B held $v of 512 regions when it gave the volume back" ||
		bad "0: B was hydrated already ($v): migrating back early was not exercised"
	# Within a few seconds: as a replica, B holds a lock for a moment
	# while it writes each push of a region it lacks (A sends it the rest
	# of its first copy now), so a count taken at once can see one.  A
	# lock that stays would refuse the next handover over its region.
	if wait_until 10 is_field vol locked 0; then
		ok "0: B holds no fill lock once it is replica"
	else
		bad "0: B holds no fill lock once it is replica: $(locked_count vol) left"
		dmsetup status vol
		tail -n 40 /tmp/dccd.log
	fi
	barrier back0
fi

owner=a
unhydrated=0
rounds=4   # as many asked by the owner as by the taker, ending at a
i=1
while [ $i -le $rounds ]; do
	next=$([ $owner = a ] && echo b || echo a)
	if [ "$SITE" = $owner ]; then
		$DD if=/dev/urandom of=/dev/mapper/vol bs=64k seek=$(((i * 37) % 500)) count=8 oflag=direct status=none ||
			bad "$i: write at $owner"
		$DD if=/dev/urandom of=/dev/mapper/vol bs=4k seek=$(((i * 4099) % 8000)) count=1 status=none conv=fsync ||
			bad "$i: buffered write at $owner"
		want=$(sum_direct)
		exchange "want$i" "$want" >/dev/null
		# Odd: asked by the owner; even: asked by the site that takes it.
		[ $((i % 2)) = 1 ] && { dccctl migrate vol --to $next >/tmp/m 2>&1 || bad "$i: migrate from $owner: $(cat /tmp/m)"; }
		barrier "moved$i"
	else
		want=$(exchange "want$i" x)
		[ $((i % 2)) = 0 ] && { dccctl migrate vol --to $SITE >/tmp/m 2>&1 || bad "$i: migrate asked at $SITE: $(cat /tmp/m)"; }
		dccctl wait vol role=owner --timeout 60 >/dev/null || bad "$i: $SITE did not become owner"
		[ "$(valid_of vol)" != 512/512 ] && unhydrated=$((unhydrated + 1))
		got=$(sum_direct)
		[ "$got" = "$want" ] || bad "$i: O_DIRECT read at $SITE differs"
		got=$(sum_cached)
		[ "$got" = "$want" ] || bad "$i: buffered read at $SITE differs"
		barrier "moved$i"
	fi
	owner=$next
	i=$((i + 1))
done
ok "$rounds migrations, each read verified at the new owner (failures above if not)"
expect_eq "generation $((rounds + 3)) at the end" $((rounds + 3)) "$(status_field vol generation)"
[ "$SITE" = b ] && echo "B took the volume $unhydrated times in the loop before it was hydrated"
check "in sync at the end" dccctl wait vol in-sync --timeout 300
s=$($DD if="$DATA" bs=1M iflag=direct status=none | sha256sum | cut -d' ' -f1)
expect_eq "both data devices equal" "$s" "$(exchange final "$s")"
expect_eq "no timeouts" 0 "$(timeouts_of vol)"
stop_dccd
check "remove" dmsetup remove vol
grep -aE "warning" /tmp/dccd.log | head -n 10
finish
