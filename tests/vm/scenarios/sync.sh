# Two sites: the replica starts empty and gets its first full copy by
# replication over CURVE; writes at the owner follow it; at the end both
# data devices are checksum-equal and the owner has nothing left dirty.
# dccctl status, wait and events are checked on the way.
# sites: 2
# disks: data=32M meta=1M
# timeout: 400
. ./lib.sh

UUID=5a5a5a5a-0000-4000-8000-000000000001
if [ "$SITE" = a ]; then
	fill_random "$DATA" 32
	check "format-meta (owner, holds the data)" dccctl format-meta --data "$DATA" --meta "$META" --uuid $UUID
else
	check "format-meta --empty (replica)" dccctl format-meta --data "$DATA" --meta "$META" --uuid $UUID --empty
fi
check "create" dcc_create vol "$DATA" "$META"
dccd_config
start_dccd
check "control socket up" wait_until 20 test -S /run/dcc/dccd.sock
dccctl events --json >/tmp/events 2>&1 &
events=$!
check "dccctl wait vol paired" dccctl wait vol paired --timeout 60
refuse "dccctl wait: a volume that does not exist" dccctl wait nosuch paired
expect_eq "... exits 4" 4 "$(dccctl wait nosuch paired >/dev/null 2>&1; echo $?)"
expect_eq "dccctl wait times out with 5" 5 "$(dccctl wait vol role=$([ "$SITE" = a ] && echo replica || echo owner) --timeout 1 >/dev/null 2>&1; echo $?)"
expect_eq "dccctl wait: bad condition is a usage error" 2 "$(dccctl wait vol nonsense >/dev/null 2>&1; echo $?)"

# Bad requests on the control socket (dccctl never sends these): each gets a
# JSON refusal with a code, and dccd and the volume are as they were.
rg0=$(role_gen vol)
bad_request() { # LABEL CODE TEXT [TIMES]
	local got
	got=$(dcctest ctlsend /run/dcc/dccd.sock "$3" --times "${4:-1}")
	case $got in
	'{"code":"'$2'","error":'*'"ok":false}') ok "control socket refuses $1 ($2): $got" ;;
	*) bad "control socket, $1: got '$got'" ;;
	esac
}
bad_request "an unknown request" usage 'bogus\n'
bad_request "bytes that are not UTF-8" usage '\xff\xfe\xc3 status\n'
bad_request "a line over 1 KiB" usage 'x' 1536
bad_request "an empty request" usage '  \n'
bad_request "migrate without a site" usage 'migrate vol\n'
bad_request "migrate to an unknown site" not-found 'migrate vol nowhere\n'
bad_request "migrate of an unknown volume" not-found 'migrate nosuch a\n'
bad_request "status of an unknown volume" not-found 'status nosuch\n'
bad_request "status with two volumes" usage 'status vol vol\n'
bad_request "events with a word after it" usage 'events vol\n'
dccd_died && bad "dccd died of the bad requests" || ok "dccd still runs after the bad requests"
expect_eq "... and the volume is as it was" "$rg0" "$(role_gen vol)"
check "... and still answers" dccctl wait vol paired --timeout 5

if [ "$SITE" = a ]; then
	$DD if=/dev/urandom of=/tmp/w bs=1M count=2 status=none
	check "write 2 MiB at the owner while the copy runs" \
		$DD if=/tmp/w of=/dev/mapper/vol bs=1M seek=10 count=2 oflag=direct status=none
	barrier copied
	check "dccctl wait vol in-sync (owner)" dccctl wait vol in-sync --timeout 120
	expect_eq "nothing dirty" 0 "$(dirty_count vol)"
	dccctl status vol
	check "status --json: link up, in sync, backlog 0" sh -c 'dccctl status --json vol | grep "\"link\":\"up\"" | grep "\"in_sync\":true" | grep -q "\"backlog\":0"'
	check "status: the round trip to the peer's dccd" sh -c 'dccctl status --json | grep -q "\"link_rtt_min_ms\":[0-9]" && dccctl status | grep -q "link up (round trip [0-9.]* ms, least [0-9.]* ms)"'
	check "status --json: replication counted" sh -c '[ "$(dccctl status --json vol | sed -n "s/.*\"replication\":{[^}]*\"regions\":\([0-9]*\).*/\1/p")" -ge 512 ]'
	barrier replicated
	sum=$($DD if=/dev/mapper/vol bs=1M iflag=direct status=none | sha256sum | cut -d' ' -f1)
	expect_eq "both sites hold the same data" "$sum" "$(exchange sums "$sum")"
else
	check "dccctl wait vol hydrated (the replica received every region)" dccctl wait vol hydrated --timeout 300
	expect_eq "every region valid" 512/512 "$(valid_of vol)"
	barrier copied
	barrier replicated
	check "dccctl wait vol in-sync (replica, from the owner's report)" dccctl wait vol in-sync --timeout 30
	check "dccctl wait vol owner=a" dccctl wait vol owner=a --timeout 5
	dccctl status vol
	sum=$($DD if="$DATA" bs=1M iflag=direct status=none | sha256sum | cut -d' ' -f1)
	exchange sums "$sum" >/dev/null
	refuse "the replica serves no application reads" $DD if=/dev/mapper/vol bs=4k count=1 iflag=direct of=/dev/null status=none
fi
kill $events 2>/dev/null
grep -q '"event":"subscribed"' /tmp/events && ok "events: subscribed" || bad "events: no subscribed line"
want=$([ "$SITE" = a ] && echo in-sync || echo hydrated)
grep -q "\"event\":\"$want\".*\"volume\":\"vol\"" /tmp/events &&
	ok "events: $want" || { bad "events: no $want"; cat /tmp/events; }
stop_dccd
check "dccctl status without dccd: the kernel's view" sh -c 'dccctl status --json vol | grep -q "\"link\":null"'
check "remove" dmsetup remove vol
grep -E "warning|refused" /tmp/dccd.log | head -n 5
finish
