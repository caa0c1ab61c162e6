# Synchronous replication (format-meta --sync at both sites): a write at
# the owner completes only once the replica holds it durably.
#   1. Both sites start with the same (zeroed) copy; background
#      replication is slowed to 1 MiB/s.  A writes 8 MiB of random data
#      (O_DIRECT): as soon as its dd returned, B's data device holds all
#      of it, which replication alone could not have moved yet.
#   2. The link is cut: a write at A is held (status shows it) and fails
#      with EIO after miss_timeout (5 s), never acknowledged; the kernel
#      says why.  Reads go on.
#   3. The link comes back: writes complete again.  fio with verify runs
#      at A (random 4 KiB writes, 16 in flight); once in sync, both data
#      devices are equal.
#   4. The volume moves to B (migrate): B's writes now wait for A, whose
#      data device holds them when B's dd returned.
#   5. B's dccd is killed (kill -9) and a write is held with no daemon; a
#      new dccd takes it over (ANNOUNCE_WRITES) and it completes.
# sites: 2
# disks: data=32M meta=1M
# timeout: 300
# kernels: all
. ./lib.sh

UUID=5a5a5a5a-0000-4000-8000-000000000020
sum_range() { $DD if="$1" bs=1M skip="$2" count="$3" iflag=direct status=none | sha256sum | cut -d' ' -f1; }
link_down() { dccctl status --json | grep -q '"link":"down"'; }

dccctl format-meta --data "$DATA" --meta "$META" --uuid $UUID --sync \
	--role "$([ "$SITE" = a ] && echo owner || echo replica)" >/tmp/format.out
check "format-meta --sync says so" grep -q "synchronous replication" /tmp/format.out
check "create" dcc_create vol "$DATA" "$META" 2 miss_timeout 5
expect_eq "the kernel reports sync, no write held" 0 "$(status_field vol held)"
dccd_config 'replication_rate = "1M"'
start_dccd
check "paired" dccctl wait vol paired --timeout 60
check "dccctl status: replication_mode sync" sh -c 'dccctl status --json vol | grep -q "\"replication_mode\":\"sync\""'
check "dccctl status says so" sh -c 'dccctl status vol | grep -q "synchronous: a write completes once the peer holds it"'
check "dccctl dump-meta says so" sh -c "dccctl dump-meta $META | grep -q '^replication    sync'"

if [ "$SITE" = a ]; then
	$DD if=/dev/urandom of=/tmp/w1 bs=1M count=8 status=none
	check "1: A writes 8 MiB (O_DIRECT)" $DD if=/tmp/w1 of=/dev/mapper/vol bs=1M seek=4 oflag=direct status=none
	exchange w1 "$(sha256sum </tmp/w1 | cut -d' ' -f1)" >/dev/null
	barrier checked1

	link_cut ab
	t0=$(date +%s)
	refuse "2: a write while the replica is away fails" \
		$DD if=/dev/urandom of=/dev/mapper/vol bs=4k count=1 seek=10 oflag=direct status=none &
	w=$!
	check "2: ... it is held meanwhile" wait_until 30 sh -c '[ "$(dcctest field vol held)" -ge 1 ]'
	wait $w
	t=$(($(date +%s) - t0))
	[ $t -ge 4 ] && ok "2: ... after miss_timeout ($t s)" || bad "2: failed after only $t s"
	expect_eq "2: ... nothing held after" 0 "$(status_field vol held)"
	check "2: the kernel says why" sh -c 'dmesg | grep -q "the other site did not confirm writes"'
	check "2: reads go on" $DD if=/dev/mapper/vol of=/dev/null bs=1M count=4 iflag=direct status=none
	link_heal ab
	check "3: paired again" wait_until 300 sh -c '! dccctl status --json | grep -q "\"link\":\"down\""'
	check "3: paired" dccctl wait vol paired --timeout 60
	check "3: a write completes" $DD if=/dev/urandom of=/dev/mapper/vol bs=4k count=1 seek=10 oflag=direct status=none
	check "3: fio with verify (random 4 KiB writes, 16 in flight)" fio --name=v --filename=/dev/mapper/vol \
		--rw=randwrite --bs=4k --size=16M --io_size=8M --iodepth=16 --ioengine=libaio --direct=1 \
		--verify=crc32c --verify_fatal=1 --randrepeat=0 --eta=never --output=/tmp/fio.out
	grep -E "write:|lat \(usec\)" /tmp/fio.out | head -3
	check "3: in sync" dccctl wait vol in-sync --timeout 120
	exchange sum "$(sum_range "$DATA" 0 32)" >/dev/null
	check "4: migrate to b" dccctl migrate vol --to b
	expected=$(exchange w4 x)
	expect_eq "4: A's data device holds B's 4 MiB when B's dd returned" "$expected" "$(sum_range "$DATA" 20 4)"
	expected=$(exchange w5 x)
	expect_eq "5: ... and the write B's new dccd took over" "$expected" "$(sum_range "$DATA" 26 1)"
	barrier done
else
	expected=$(exchange w1 x)
	got=$(sum_range "$DATA" 4 8)
	expect_eq "1: B's data device holds the 8 MiB when A's dd returned" "$expected" "$got"
	barrier checked1
	check "2: B sees the link down" wait_until 100 link_down
	check "3: paired again" dccctl wait vol paired --timeout 300
	their=$(exchange sum x)
	expect_eq "3: both data devices are equal" "$their" "$(sum_range "$DATA" 0 32)"
	check "4: b owns the volume" wait_until 100 sh -c '[ "$(dcctest field vol role)" = owner ]'
	$DD if=/dev/urandom of=/tmp/w4 bs=1M count=4 status=none
	check "4: B writes 4 MiB (O_DIRECT)" $DD if=/tmp/w4 of=/dev/mapper/vol bs=1M seek=20 oflag=direct status=none
	exchange w4 "$(sha256sum </tmp/w4 | cut -d' ' -f1)" >/dev/null
	check "5: a longer wait bound" dmsetup message vol 0 miss_timeout 60
	kill -9 "$DCCD"
	wait "$DCCD" 2>/dev/null
	$DD if=/dev/urandom of=/tmp/w5 bs=1M count=1 status=none
	( $DD if=/tmp/w5 of=/dev/mapper/vol bs=1M seek=26 oflag=direct status=none; echo $? >/tmp/w5.rc ) &
	check "5: a write is held with no dccd" wait_until 50 sh -c '[ "$(dcctest field vol held)" -ge 1 ]'
	sleep 2
	[ ! -e /tmp/w5.rc ] && ok "5: ... and waits" || bad "5: it completed without a daemon"
	start_dccd
	check "5: the new dccd completes it" wait_until 300 test -e /tmp/w5.rc
	expect_eq "5: ... with success" 0 "$(cat /tmp/w5.rc)"
	[ "$(cat /tmp/w5.rc)" = 0 ] || { tail -n 30 /tmp/dccd.log; dmesg | tail -n 20; }
	exchange w5 "$(sha256sum </tmp/w5 | cut -d' ' -f1)" >/dev/null
	barrier done
fi
stop_dccd
check "remove" dmsetup remove vol
finish
