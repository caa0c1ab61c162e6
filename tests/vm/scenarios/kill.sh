# The fill program killed with SIGKILL at each stage of a fill: no hang, no
# double completion, correct data once a new one runs; with none, EIO only
# after the configured bound.
# disks: data=64M meta=1M src=64M
. ./lib.sh

fill_random "$SRC" 64
r=11
for stage in claimed written done; do
	dccctl format-meta --data "$DATA" --meta "$META" --empty --role owner --force >/dev/null
	$DD if=/dev/zero of="$DATA" bs=1M count=4 oflag=direct status=none
	check "create ($stage)" dcc_create vol "$DATA" "$META"
	$DD if=/dev/mapper/vol bs=64k skip=$r count=1 iflag=direct of=/tmp/read status=none &
	reader=$!
	dccctl fill --source "$SRC" --pause-at $stage vol 2>/tmp/fill.log &
	fill=$!
	check "fill paused at $stage" wait_until 30 paused_at /tmp/fill.log $stage
	kill -KILL $fill
	wait $fill 2>/dev/null
	check "registration dropped with the socket ($stage)" wait_until 10 unregistered vol
	if [ $stage = done ]; then
		wait $reader && ok "read completed before the kill" || bad "read failed"
		expect_eq "nothing locked" 0 "$(locked_count vol)"
	else
		sleep 1
		check "the read still waits ($stage)" running $reader
		expect_eq "region still locked ($stage)" 1 "$(locked_count vol)"
		dccctl fill --source "$SRC" vol 2>/tmp/fill2.log &
		fill=$!
		wait $reader && ok "read completed after restart ($stage)" || bad "read failed ($stage)"
		kill -TERM $fill
		wait $fill
		grep -q "^dccctl fill: 1 misses filled, 0 regions hydrated, 0 stale" /tmp/fill2.log &&
			ok "the new fill filled it once ($stage)" || bad "fill log: $(tail -n1 /tmp/fill2.log)"
	fi
	expect_eq "data ($stage)" "$(region_sum "$SRC" $r)" "$(sha256sum </tmp/read | cut -d' ' -f1)"
	expect_eq "one miss ($stage)" 1 "$(misses_of vol)"
	expect_eq "no timeout ($stage)" 0 "$(timeouts_of vol)"
	check "remove ($stage)" dmsetup remove vol
done

# Nobody comes back: the read fails with EIO after the bound, not before.
dccctl format-meta --data "$DATA" --meta "$META" --empty --role owner --force >/dev/null
check "create with miss_timeout 4" dcc_create vol "$DATA" "$META" 2 miss_timeout 4
dccctl fill --source "$SRC" --pause-at claimed vol 2>/tmp/fill.log &
fill=$!
t0=$(date +%s)
$DD if=/dev/mapper/vol bs=64k skip=$r count=1 iflag=direct of=/tmp/read status=none 2>/tmp/dd.err &
reader=$!
check "fill paused" wait_until 30 paused_at /tmp/fill.log claimed
kill -KILL $fill
wait $fill 2>/dev/null
if wait $reader; then bad "read succeeded without data"; else ok "read failed"; fi
t=$(($(date +%s) - t0))
[ $t -ge 4 ] && [ $t -le 12 ] && ok "EIO after the bound (${t}s, bound 4s)" || bad "EIO after ${t}s, bound 4s"
grep -q "Input/output error" /tmp/dd.err && ok "the error is EIO" || bad "error: $(cat /tmp/dd.err)"
expect_eq "one timeout" 1 "$(timeouts_of vol)"
expect_eq "lock dropped with no daemon" 0 "$(locked_count vol)"
check "remove" dmsetup remove vol

# An admin can fail waiting bios at once.
dccctl format-meta --data "$DATA" --meta "$META" --empty --role owner --force >/dev/null
check "create with miss_timeout 600" dcc_create vol "$DATA" "$META" 2 miss_timeout 600
$DD if=/dev/mapper/vol bs=64k skip=$r count=1 iflag=direct of=/tmp/read status=none 2>/dev/null &
reader=$!
check "locked" wait_until 10 is_field vol locked 1
check "fail_pending" dmsetup message vol 0 fail_pending
if wait $reader; then bad "read succeeded"; else ok "fail_pending failed the read at once"; fi
check "remove" dmsetup remove vol
finish
