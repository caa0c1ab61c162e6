# Planned migration: with fio's writes (crc32c verify headers) at A not
# yet replicated, ownership moves to B; B verifies them with fio at once and
# reads everything right (fetching what it lacks), then hydrates; writes
# at B; ownership moves back, asked at both sites and by two clients at B
# at once, each told it moved; A reads B's writes, buffered reads included
# (its page cache was dropped).  Then B drops its volume: A's migrate
# toward it is refused as not paired, A goes on writing; B's volume,
# created again, pairs, catches up and takes the volume.
# sites: 2
# disks: data=64M meta=1M
# timeout: 560
. ./lib.sh

UUID=5a5a5a5a-0000-4000-8000-000000000003
# Both copies start equal (zeros): no first copy, which other scenarios
# cover (sync, fetch, linkcut).  Replication is slowed (below) so that
# writes are still dirty when ownership moves.
if [ "$SITE" = a ]; then
	dccctl format-meta --data "$DATA" --meta "$META" --uuid $UUID >/dev/null
else
	dccctl format-meta --data "$DATA" --meta "$META" --uuid $UUID --role replica >/dev/null
fi
check "create" dcc_create vol "$DATA" "$META"
dccd_config
start_dccd
check "paired" wait_until 60 grep -q "vol: paired with $PEER" /tmp/dccd.log
sum_vol() { $DD if=/dev/mapper/vol bs=1M iflag=direct status=none | sha256sum | cut -d' ' -f1; }
# fio_verify [fio options]: the same random 4 KiB writes, with crc32c
# headers, to 12 MiB from 16 MiB on; --verify_only checks them elsewhere.
fio_verify() {
	fio --name=mv --filename=/dev/mapper/vol --rw=randwrite --bs=4k --offset=16M --size=12M \
		--ioengine=psync --direct=1 --verify=crc32c --verify_fatal=1 --randseed=4242 \
		--output=/tmp/fio.out "$@" || { cat /tmp/fio.out; return 1; }
}

if [ "$SITE" = a ]; then
	barrier synced
	check "replication slowed to 1 MiB/s (SIGHUP)" set_rate 1M 1048576
	check "fio writes 12 MiB at A (crc32c verify headers)" fio_verify --do_verify=0
	# A buffered read puts the old owner's data in its page cache.
	$DD if=/dev/mapper/vol bs=1M skip=40 count=1 status=none of=/dev/null
	# 4 MiB more just before the move, four seconds of replication: dirty
	# at the handover however long fio took next to the replication.
	check "4 MiB more at A, just before the move" \
		$DD if=/dev/urandom of=/dev/mapper/vol bs=1M seek=44 count=4 oflag=direct status=none
	check "dccctl migrate vol --to b" dccctl migrate vol --to b
	cat /tmp/check.out
	n=$(sed -n 's/.*generation 2, \([0-9]*\) dirty regions.*/\1/p' /tmp/dccd.log)
	[ "${n:-0}" -gt 0 ] && ok "$n regions were still dirty at the handover" || bad "nothing dirty at the handover (${n:-no log line})"
	expect_eq "A is replica now" replica "$(role_of vol)"
	expect_eq "A kept none of its dirty bits (B fetches those regions)" 0 "$(dirty_count vol)"
	# ... dropped in the commit that made it replica (SET_ROLE with CLEAN),
	# not by the requests after it, which would have logged them.
	expect_eq "... dropped with the persist" 0 \
		"$(grep -ac 'dirty bits of an earlier ownership dropped\|not dropped with the persist' /tmp/dccd.log)"
	expect_eq "generation 2" 2 "$(status_field vol generation)"
	refuse "A serves no I/O" $DD if=/dev/mapper/vol bs=4k count=1 iflag=direct of=/dev/null status=none
	refuse "nor from its page cache" $DD if=/dev/mapper/vol bs=1M skip=40 count=1 status=none of=/dev/null
	before=$($DD if="$DATA" bs=1M iflag=direct status=none | sha256sum | cut -d' ' -f1)
	expect_eq "B reads what A held" "$before" "$(exchange sum1 "$before")"
	barrier b-wrote
	# The same move asked at both sites at once: one request answers the
	# other's (B hands over for A's ask, or answers it with EALREADY), and
	# both are told it moved.
	check "dccctl migrate vol --to a at A too, at the same time" dccctl migrate vol --to a
	cat /tmp/check.out
	expect_eq "A owns it" owner "$(role_of vol)"
	expect_eq "generation 3" 3 "$(status_field vol generation)"
	after=$(exchange sum2 x)
	expect_eq "A reads B's writes" "$after" "$(sum_vol)"
	expect_eq "buffered reads too" "$after" "$($DD if=/dev/mapper/vol bs=1M status=none | sha256sum | cut -d' ' -f1)"
else
	check "synced" wait_until 300 is_valid vol 1024/1024
	barrier synced
	check "B becomes owner" wait_until 120 is_field vol role owner
	n=$(sed -n 's/.*owns generation 2 now; \([0-9]*\) regions to fetch.*/\1/p' /tmp/dccd.log)
	[ "${n:-0}" -gt 0 ] && ok "B lacked $n regions when it took over" || bad "B lacked nothing (${n:-no log line})"
	check "fio --verify_only at B: every block A wrote, read at once" fio_verify --verify_only
	dccctl metrics >/tmp/metrics.out
	grep -q '^dcc_daemon_start_time_seconds [0-9]' /tmp/metrics.out && ok "metrics say when dccd started" ||
		bad "no dcc_daemon_start_time_seconds"
	s=$(sum_vol)
	exchange sum1 "$s" >/dev/null
	check "hydration completes" wait_until 300 is_valid vol 1024/1024
	expect_eq "no timeouts" 0 "$(timeouts_of vol)"
	check "write 2 MiB at B" $DD if=/dev/urandom of=/dev/mapper/vol bs=1M seek=30 count=2 oflag=direct status=none
	after=$(sum_vol)
	barrier b-wrote
	# Two clients at B ask for the same move as A does.
	dccctl migrate vol --to a >/tmp/mig2.out 2>&1 &
	second=$!
	check "dccctl migrate vol --to a (asked at B, and at A)" dccctl migrate vol --to a
	cat /tmp/check.out
	wait $second
	expect_eq "a second client at B is told the same" 0 $?
	cat /tmp/mig2.out
	expect_eq "B is replica again" replica "$(role_of vol)"
	exchange sum2 "$after" >/dev/null
fi
# B drops its volume (dmsetup remove, as a cluster manager's stop does):
# its dccd tells A (DETACH), and a migrate toward B is refused at once as
# not paired, A still owning and writing, instead of handing over to a
# site that cannot take the volume and fencing A until it comes back.
# Created again, B's volume pairs, catches up and takes the volume.
if [ "$SITE" = a ]; then
	barrier b-removed
	check "A sees that B has no such volume" wait_until 30 \
		sh -c 'dccctl status vol | grep -qF "not paired: the peer has no such volume"'
	refuse_saying "migrate toward B is refused" "the peer has no such volume" dccctl migrate vol --to b
	expect_eq "... as not paired (exit 1)" 1 "$(cat /tmp/check.rc)"
	expect_eq "A still owns generation 3" "owner 3" "$(role_gen vol)"
	check "A writes 2 MiB while B has no volume" \
		$DD if=/dev/urandom of=/dev/mapper/vol bs=1M seek=8 count=2 oflag=direct status=none
	s=$(sum_vol)
	barrier a-wrote
	check "paired again once B's volume is back" dccctl wait vol paired --timeout 60
	check "in sync" dccctl wait vol in-sync --timeout 120
	expect_eq "B holds what A holds" "$s" "$(exchange sum3 "$s")"
	check "dccctl migrate vol --to b" dccctl migrate vol --to b
	expect_eq "A is replica" "replica 4" "$(role_gen vol)"
	barrier b-renamed
else
	check "B drops its volume" dmsetup remove vol
	barrier b-removed
	barrier a-wrote
	check "B creates it again" dcc_create vol "$DATA" "$META"
	check "paired again" wait_until 60 dccctl wait vol paired --timeout 1
	check "in sync" dccctl wait vol in-sync --timeout 120
	mine=$($DD if="$DATA" bs=1M iflag=direct status=none | sha256sum | cut -d' ' -f1)
	expect_eq "B's copy is A's" "$(exchange sum3 "$mine")" "$mine"
	check "B owns generation 4" wait_until 60 is_field vol role owner
	grep -a "dropped the volume\|no such volume" /tmp/dccd.log | head -n 3
	# Renamed (dmsetup rename), the volume is found by its new name at
	# once, not only after dccd's next scan of the devices.
	check "rename vol to vol2" dmsetup rename vol vol2
	check "dccctl status vol2 at once" dccctl status vol2
	check "vol2 paired" dccctl wait vol2 paired --timeout 30
	check "rename it back" dmsetup rename vol2 vol
	check "dccctl status vol at once" dccctl status vol
	check "vol paired" dccctl wait vol paired --timeout 30
	barrier b-renamed
fi
check "dccctl refuses an unknown site" sh -c '! dccctl migrate vol --to nowhere'
refuse_saying "dccctl wait refuses a site that is neither" "no site 'nowhere'" \
	dccctl wait vol owner=nowhere --timeout 60
expect_eq "... as a usage error" 2 "$(cat /tmp/check.rc)"
stop_dccd
check "remove" dmsetup remove vol
grep -aE "handover|owns|warning" /tmp/dccd.log | head -n 8
finish
