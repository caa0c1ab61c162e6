# Failover time: from the owner's death to the first write served at the
# other site, against the lease.  w runs the witness; a owns a volume
# formatted --sync (lease_ms 3000) and writes numbered records; it tells b
# "now" (nc) and its power is cut at once.  b then runs `dccctl failover
# vol` once every 100 ms (refused while b still hears a, then waiting for
# its promise to a and a's lease at the witness to end); once it owns the
# volume, `dccctl mode vol async` (in sync a write would wait for a) and
# it writes 4 KiB (O_DIRECT).  Lines "BENCH ..." are collected by
# tests/bench.sh: when b saw the link down, when the witness granted, and
# when the first write completed, in ms from a's death.
# sites: 3
# disks: data=32M meta=1M
# timeout: 600
. ./lib.sh

UUID=5a5a5a5a-0000-4000-8000-0000000000a3
LEASE_MS=3000
powercut() { echo "DCC-KILL-ME"; sleep 600; }
now_ms() { awk '{ printf "%d", $1 * 1000 }' /proc/uptime; }
link_down() { dccctl status --json | grep -q '"link":"down"'; }

if [ "$SITE" = w ]; then
	witness_config $LEASE_MS
	dccd --witness --init --config /etc/dcc/witness.toml >/dev/null || bad "witness --init"
	dccd --witness --config /etc/dcc/witness.toml 2>>/tmp/witness.log &
	barrier s0
	barrier_with b s2
	finish
fi
if [ "$SITE" = a ] && [ "${DCC_BOOT:-1}" = 2 ]; then
	finish
fi

dccd_config_witness $LEASE_MS
dccctl format-meta --data "$DATA" --meta "$META" --uuid $UUID --sync \
	--role "$([ "$SITE" = a ] && echo owner || echo replica)" >/dev/null || bad "format-meta"
dcc_create vol "$DATA" "$META" 2 miss_timeout 8 || bad "create"
barrier s0
start_dccd
# b notes the time a's word arrives (busybox nc: the listener ends when
# its input does).
[ "$SITE" = b ] && { sleep 600 | nc -l -p 9412 | { read -r _; now_ms >/tmp/t0; } & }
dccctl wait vol paired --timeout 120 >/dev/null || bad "paired"
dccctl wait vol in-sync --timeout 120 >/dev/null || bad "in sync"

if [ "$SITE" = a ]; then
	wait_until 10 sh -c '[ "$(dcctest field vol lease)" = held ]' || bad "a holds a lease"
	( dcctest seqwrite /dev/mapper/vol --seed 5 >/dev/null ) &
	sleep 2
	echo now | nc "$(ip_of b)" 9412
	powercut
fi

wait_until 300 test -s /tmp/t0 || bad "b heard of a's death"
t0=$(cat /tmp/t0) down= granted=
while :; do
	[ -z "$down" ] && link_down && down=$(($(now_ms) - t0))
	if dccctl failover vol >/tmp/fo.out 2>&1; then
		granted=$(($(now_ms) - t0))
		break
	fi
	[ $(($(now_ms) - t0)) -gt 120000 ] && { bad "no failover within 120 s: $(cat /tmp/fo.out)"; break; }
	sleep 0.1
done
# In sync a write waits for the other site: going on alone is the admin's
# step today (no `continue` policy yet).
dccctl mode vol async >/dev/null || bad "mode async"
$DD if=/dev/urandom of=/dev/mapper/vol bs=4k count=1 seek=100 oflag=direct status=none || bad "b writes"
written=$(($(now_ms) - t0))
[ -z "$down" ] && link_down && down=$granted
grep -q "granted by the witness" /tmp/fo.out || bad "failover not granted by the witness: $(cat /tmp/fo.out)"
echo "BENCH failover lease_ms=$LEASE_MS link_down_ms=${down:-0} granted_ms=${granted:-0} first_write_ms=$written"
barrier_with w s2
stop_dccd
finish
