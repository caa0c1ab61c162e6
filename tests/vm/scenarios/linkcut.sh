# The link is cut in the middle of the first copy to an empty replica, and
# restored: replication resumes where it stopped (the replica received
# about one copy of the volume in all, not one and a half), writes made at
# the owner while the link was down follow, and both copies end equal.
# dccctl status and events show the link going down and up.  A migrate
# asked at the replica just as the link is cut gets its answer within its
# bound, and, reported failed, never takes effect once the link is back
# (D3); the link is used again within seconds of its return.
# sites: 2
# disks: data=64M meta=1M
# timeout: 600
. ./lib.sh

UUID=5a5a5a5a-0000-4000-8000-000000000007
if [ "$SITE" = a ]; then
	fill_random "$DATA" 64
	dccctl format-meta --data "$DATA" --meta "$META" --uuid $UUID >/dev/null
else
	dccctl format-meta --data "$DATA" --meta "$META" --uuid $UUID --empty >/dev/null
fi
check "create" dcc_create vol "$DATA" "$META"
dccd_config 'replication_rate = "4M"' 'handover_timeout_ms = 5000'
start_dccd
dccctl events --json --now vol >/tmp/events 2>&1 &
events=$!
check "paired (the volume named by its path)" dccctl wait /dev/mapper/vol paired --timeout 60
received() { dccctl status --json vol | sed -n 's/.*"replication":{[^}]*"regions":\([0-9]*\).*/\1/p'; }

if [ "$SITE" = b ]; then
	check "a third of the copy arrived" wait_until 120 at_least vol valid 340
	# The first copy's progress and time left, at the replica.
	dccctl status vol >/tmp/st.out 2>&1
	grep -Eq "replicating [0-9.]+ %, [0-9]+ regions left, [0-9.]+ MiB/s, ETA [0-9]" /tmp/st.out &&
		ok "status: the copy's progress and time left ($(grep -o 'replicating.*' /tmp/st.out))" ||
		bad "status shows no progress: $(cat /tmp/st.out)"
	dccctl status --json vol | grep -Eq '"replication":\{"bytes_per_second":[0-9]+,"done_regions":[0-9]+,"eta_seconds":[0-9]+,' &&
		ok "status --json: progress.replication with eta_seconds" || bad "status --json: $(dccctl status --json vol)"
	check "cut the link (B's interface down)" ip link set eth0 down
	t0=$(date +%s)
	refuse "a migrate asked as the link is cut fails" dccctl migrate vol --to b --timeout 60
	t=$(($(date +%s) - t0))
	[ $t -le 8 ] && ok "... answered in ${t}s (bound: handover_timeout 5 s + 2 s)" || bad "... answered after ${t}s"
	cat /tmp/check.out
	before=$(valid_count vol)
	check "B sees the link down" wait_until 20 sh -c 'dccctl status --json | grep -q "\"link\":\"down\""'
	sleep 4
	expect_eq "nothing arrives while the link is down" "$before" "$(valid_count vol)"
	check "restore the link" ip link set eth0 up
	t0=$(date +%s)
	check "paired again" dccctl wait vol paired --timeout 60
	t=$(($(date +%s) - t0))
	[ $t -le 10 ] && ok "paired ${t}s after the link came back" || bad "paired only ${t}s after the link came back"
	barrier restored
	check "B hydrated again (with --progress)" sh -c 'dccctl wait vol hydrated --timeout 300 --progress 2>/tmp/progress.out'
	grep -Eq "^vol: replicating [0-9.]+ %, [0-9]+ regions left, .*ETA" /tmp/progress.out &&
		ok "wait --progress: $(grep -c . /tmp/progress.out) lines, the last: $(tail -n1 /tmp/progress.out)" ||
		bad "wait --progress printed: $(cat /tmp/progress.out)"
	barrier written
	check "in sync" dccctl wait vol in-sync --timeout 120
	expect_eq "the migrate reported failed did not happen later" "replica" "$(role_of vol)"
	n=$(received)
	[ "${n:-99999}" -le 1250 ] && ok "B received $n regions for a 1024-region volume plus 64 rewritten (a restart from zero would be over 1400): it resumed" ||
		bad "B received ${n:-?} regions: the copy started over"
	s=$($DD if="$DATA" bs=1M iflag=direct status=none | sha256sum | cut -d' ' -f1)
	exchange sums "$s" >/dev/null
else
	check "A sees the link down" wait_until 60 sh -c 'dccctl status --json | grep -q "\"link\":\"down\""'
	check "status: not paired" sh -c 'dccctl status --json vol | grep -q "\"paired\":false"'
	check "A writes 4 MiB while the link is down" $DD if=/dev/urandom of=/dev/mapper/vol bs=1M seek=40 count=4 oflag=direct status=none
	barrier restored
	check "paired again" dccctl wait vol paired --timeout 60
	barrier written
	check "in sync" dccctl wait vol in-sync --timeout 300
	expect_eq "A still owns the volume" "owner" "$(role_of vol)"
	s=$($DD if=/dev/mapper/vol bs=1M iflag=direct status=none | sha256sum | cut -d' ' -f1)
	expect_eq "both copies equal" "$s" "$(exchange sums "$s")"
fi
kill $events 2>/dev/null
# --now: the volume's state first, as dccd last published it.
expect_eq "events --now: the state right after subscribed" '"event":"state"' "$(sed -n 2p /tmp/events | grep -o '"event":"state"')"
sed -n 2p /tmp/events | grep -q '"volume":"vol"' && ok "... of vol" || bad "... not of vol: $(sed -n 2p /tmp/events)"
grep -q '"state":"down"' /tmp/events && ok "events: link down" || bad "events: no link down"
grep -q '"state":"up"' /tmp/events && ok "events: link up" || bad "events: no link up"
# Metrics for Prometheus, from dccd and then from the kernel alone.
owned=$([ "$SITE" = a ] && echo 1 || echo 0)
mkdir -p /tmp/textfile
check "dccctl metrics --output" dccctl metrics --output /tmp/textfile/dcc.prom
for want in 'dcc_daemon_up 1' 'dcc_link_up 1' 'dcc_volume_valid_regions{volume="vol"} 1024' \
	'dcc_volume_in_sync{volume="vol"} 1' "dcc_volume_owner{volume=\"vol\"} $owned" \
	'# TYPE dcc_volume_misses_total counter'; do
	grep -qxF "$want" /tmp/textfile/dcc.prom && ok "metrics: $want" || bad "metrics lack '$want': $(cat /tmp/textfile/dcc.prom)"
done
[ ! -e /tmp/textfile/dcc.prom.tmp ] && ok "metrics: no temporary file left" || bad "metrics: dcc.prom.tmp left"
stop_dccd
dccctl metrics >/tmp/metrics.out 2>&1
grep -qxF 'dcc_daemon_up 0' /tmp/metrics.out && grep -qxF 'dcc_volume_valid_regions{volume="vol"} 1024' /tmp/metrics.out &&
	! grep -q '^dcc_volume_paired' /tmp/metrics.out && ok "metrics without dccd: the kernel's view, nothing unknown" ||
	bad "metrics without dccd: $(cat /tmp/metrics.out)"
check "remove" dmsetup remove vol
grep -aE "link|lacks|warning" /tmp/dccd.log | head -n 10
finish
