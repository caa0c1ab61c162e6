# Losing a site, without a witness (so only by force), and coming back.
#   1. While the owner A is reachable, failover is refused at B (use
#      migrate), even with --force, and at A (it owns the volume).
#   2. A's power is cut while B still receives its first copy.  At B,
#      failover without --force is refused (this copy lacks regions); with
#      --force B owns generation 2 at once, a region it lacks fails to read
#      (never zeroes), and it writes.  A boots; it wrote nothing since:
#      it becomes B's replica (rule 12), receives only what B wrote (not a
#      full copy), and B fetches from it what it lacked.
#   3. B's power is cut; A is refused without --force (no witness), then
#      takes the volume by force (generation 3) and writes.  B boots and its
#      application writes before its dccd starts: both wrote while apart.
#      Both record a split brain (rule 14), each with an event: B serves
#      nothing, A serves on, `wait` fails at once at B and `wait
#      split-brain` returns at A; B's data device does not change.
#      `dccctl resolve --discard-local` at B drops B's writes; the sites
#      pair, only the divergent regions move (A's 65 written apart, B's
#      16 dropped) and the copies end equal, A's writes kept.
#   4. A second split brain, resolved at the newer site: each site takes
#      its end of the link down; B takes the volume by force (generation
#      4) and writes, A writes; then the link is back.  A is the older site
#      now; `dccctl resolve --discard-local` at B, the newer one, drops
#      B's writes and makes B replica of generation 5, which A takes with
#      its own (rule 15).  A's data is unchanged, the copies end equal.
#   5. A third split brain (B forced to generation 6, both write apart),
#      resolved at both sites while apart again: A becomes replica 6 (its
#      dccd killed and started again), B replica 7 and, forced again,
#      owner 8, and writes.  A meets it: a replica of 6 facing an owner of
#      8 becomes its replica (rules 17 and 18); each fetches what it
#      dropped from the other, B's writes are kept, the copies end equal.
# sites: 2
# disks: data=32M meta=1M
# timeout: 300
# kernels: all
. ./lib.sh

UUID=5a5a5a5a-0000-4000-8000-00000000000e
sum_vol() { $DD if=/dev/mapper/vol bs=1M iflag=direct status=none | sha256sum | cut -d' ' -f1; }
sum_data() { $DD if="$DATA" bs=1M iflag=direct status=none | sha256sum | cut -d' ' -f1; }
sum_head() { $DD if=/dev/mapper/vol bs=1M count=8 iflag=direct status=none | sha256sum | cut -d' ' -f1; }
is_role_gen() { [ "$(role_gen vol)" = "$1" ]; }
pushed() { dccctl status --json vol | sed -n 's/.*"replication":{[^}]*"regions":\([0-9]*\).*/\1/p'; }
pulled() { dccctl status --json vol | sed -n 's/.*"hydration":{[^}]*"regions":\([0-9]*\).*/\1/p'; }
rc_was() { expect_eq "$1" "$2" "$(cat /tmp/check.rc)"; }
# The first region from $1 (default 0) not valid here (ranges are sorted).
first_invalid() {
	dccctl dump-meta --ranges "$META" | sed -n 's/^valid ranges *//p' | tr ',' '\n' |
		awk -F- -v n="${1:-0}" '$1 <= n { e = ($2 == "" ? $1 : $2); if (e >= n) n = e + 1 } END { print n }'
}
# Each site boots again at once after its power cut, with the same disks.
boot=${DCC_BOOT:-1}
# The first copy slowly, so that B still lacks most of it in step 2.
dccd_config 'replication_rate = "1M"'

if [ "$boot" = 1 ]; then
	if [ "$SITE" = a ]; then
		fill_random "$DATA" 32
		dccctl format-meta --data "$DATA" --meta "$META" --uuid $UUID --role owner >/dev/null
	else
		dccctl format-meta --data "$DATA" --meta "$META" --uuid $UUID --empty >/dev/null
	fi
	check "create" dcc_create vol "$DATA" "$META" 2 miss_timeout 10
	start_dccd
	check "paired" dccctl wait vol paired --timeout 60
fi

if [ "$SITE" = a ]; then
	case $boot in
	1)
		refuse_saying "1: failover at the owner is refused" "owns the volume already" \
			dccctl failover vol --force
		rc_was "1: exit code 3 (refused)" 3
		barrier p1
		exchange head "$(sum_head)" >/dev/null
		barrier cut-a
		powercut
		;;
	2)
		check "2: the volume comes back" dcc_create vol "$DATA" "$META" 2 miss_timeout 10
		expect_eq "2: A comes back as" "owner 1" "$(role_gen vol)"
		barrier b-owns  # B has tried what it lacks, and written, while A was away
		start_dccd
		check "2: A becomes B's replica (rule 12)" wait_until 60 is_role_gen "replica 2"
		check "2: paired" dccctl wait vol paired --timeout 60
		check "2: in sync" dccctl wait vol in-sync --timeout 120
		grep -q "pairing rule 12" /tmp/dccd.log && ok "2: A's log names rule 12" || bad "2: no rule 12 in A's log"
		# Only what B wrote comes back (64 regions), not a full copy (512);
		# a push sent twice (its answer late) may count twice.
		n=$(pushed)
		[ "$n" -ge 64 ] && [ "$n" -le 96 ] && ok "2: A received $n regions (B wrote 64 of 512)" ||
			bad "2: A received $n regions; B wrote 64 of 512"
		expect_eq "2: A's copy is B's" "$(exchange s2 x)" "$(sum_data)"
		barrier p2
		# 3: B's power goes; A takes the volume by force and writes.
		check "3: A sees the link down" wait_until 30 link_down
		refuse_saying "3: failover without --force" "no witness" dccctl failover vol
		rc_was "3: exit code 3 (refused)" 3
		check "3: A takes the volume by force" dccctl failover vol --force
		expect_eq "3: A owns" "owner 3" "$(role_gen vol)"
		expect_eq "3: origin" forced "$(status_field vol origin)"
		check "3: A writes 4 MiB" $DD if=/dev/urandom of=/dev/mapper/vol bs=1M seek=16 count=4 oflag=direct status=none
		dccctl events --json vol >/tmp/events3.out 2>&1 &
		events=$!
		barrier forced
		check "3: A records the split brain" wait_until 60 is_field vol split new
		check "3: wait split-brain returns at A" dccctl wait vol split-brain --timeout 10
		check "3: an event says so" wait_until 10 grep -q '"event":"split-brain".*"split":"new"' /tmp/events3.out
		kill $events 2>/dev/null
		check "3: A serves on" $DD if=/dev/urandom of=/dev/mapper/vol bs=64k seek=400 count=1 oflag=direct status=none
		refuse_saying "3: wait paired says why it times out" "resolve it at either site" \
			dccctl wait vol paired --timeout 2
		rc_was "3: wait's exit code 5 (timed out)" 5
		dccctl status vol | grep -q "SPLIT BRAIN" && ok "3: status says SPLIT BRAIN" || bad "3: status at A"
		grep -q "pairing rule 14" /tmp/dccd.log && ok "3: A's log names rule 14" || bad "3: no rule 14 in A's log"
		want=$(sum_vol)
		barrier seen
		check "3: paired again once B resolved" dccctl wait vol paired --timeout 120
		check "3: in sync" dccctl wait vol in-sync --timeout 120
		expect_eq "3: split cleared at A" - "$(status_field vol split)"
		expect_eq "3: A's data is unchanged" "$want" "$(sum_vol)"
		s=$(sum_data)
		expect_eq "3: both copies equal" "$(exchange s3 "$s")" "$s"
		# 4: apart again (each site takes its end of the link down and
		# brings it back once it wrote: the link is up when both did).
		barrier p4
		check "4: A: its end of the link down" ip link set eth0 down
		check "4: A writes 1 MiB while apart" $DD if=/dev/urandom of=/dev/mapper/vol bs=1M seek=4 count=1 oflag=direct status=none
		want=$(sum_vol)
		# (B's end is down by now: it took it down at once after p4)
		sleep 3
		check "4: A: its end up again" ip link set eth0 up
		# A records the split brain, unless B's resolve comes first: it
		# takes generation 5 either way.
		check "4: A takes generation 5 once B resolved (rule 15)" wait_until 120 is_role_gen "owner 5"
		grep -q "pairing rule 15" /tmp/dccd.log && ok "4: A's log names rule 15" || bad "4: no rule 15 in A's log"
		check "4: paired" dccctl wait vol paired --timeout 120
		check "4: in sync" dccctl wait vol in-sync --timeout 120
		expect_eq "4: no split at A" - "$(status_field vol split)"
		expect_eq "4: A's data is unchanged, its writes kept" "$want" "$(sum_vol)"
		s=$(sum_data)
		expect_eq "4: both copies equal" "$(exchange s4 "$s")" "$s"
		# 5: a third split brain, resolved at both sites while apart
		# (the resolves cross), then B forced again: A, a replica of 6,
		# meets an owner of 8 (rules 17 and 18).
		barrier p5
		check "5: A: its end of the link down" ip link set eth0 down
		check "5: A writes 1 MiB while apart" $DD if=/dev/urandom of=/dev/mapper/vol bs=1M seek=12 count=1 oflag=direct status=none
		sleep 3
		check "5: A: its end up again" ip link set eth0 up
		check "5: A records the split brain" wait_until 90 is_field vol split old
		barrier p5b
		check "5: A: its end down again" ip link set eth0 down
		check "5: A sees the link down" wait_until 30 link_down
		check "5: resolve --discard-local at A, apart" dccctl resolve vol --discard-local
		expect_eq "5: A is replica of generation 6" "replica 6" "$(role_gen vol)"
		kill9_dccd
		start_dccd
		expect_eq "5: A's dccd killed and started again: still replica 6" "replica 6" "$(role_gen vol)"
		check "5: A: its end up (B's stays down until it forced)" ip link set eth0 up
		check "5: A becomes replica of B's generation 8 (rule 17)" wait_until 120 is_role_gen "replica 8"
		grep -q "pairing rule 17" /tmp/dccd.log && ok "5: A's log names rule 17" || bad "5: no rule 17 in A's log"
		check "5: paired" dccctl wait vol paired --timeout 120
		check "5: A hydrated (the 16 regions it dropped come from B)" dccctl wait vol hydrated --timeout 120
		expect_eq "5: B's write made while apart is here" "$(exchange b5 x)" \
			"$($DD if="$DATA" bs=1M skip=20 count=1 iflag=direct status=none | sha256sum | cut -d' ' -f1)"
		exchange s5 "$(sum_data)" >/dev/null
		;;
	esac
else
	case $boot in
	1)
		refuse_saying "1: failover while the owner is reachable" "use dccctl migrate" dccctl failover vol
		rc_was "1: exit code 3 (refused)" 3
		refuse_saying "1: even with --force" "use dccctl migrate" dccctl failover vol --force
		refuse_saying "1: resolve needs --discard-local" "needs --discard-local" dccctl resolve vol
		rc_was "1: a usage error (exit 2)" 2
		refuse_saying "1: resolve where no split brain is recorded" "no split brain" \
			dccctl resolve vol --discard-local
		dcctest ctlsend /run/dcc/dccd.sock 'failover vol now\n' | grep -q "failover takes a volume and, optionally, force" &&
			ok "1: dccd refuses a malformed failover request" || bad "1: malformed failover request"
		dcctest ctlsend /run/dcc/dccd.sock 'resolve vol\n' | grep -q "resolve takes a volume and discard-local" &&
			ok "1: dccd refuses a malformed resolve request" || bad "1: malformed resolve request"
		refuse_saying "1: failover of an unknown volume" "no dcc volume 'nosuch'" dccctl failover nosuch --force
		rc_was "1: not found (exit 4)" 4
		expect_eq "1: B is still replica" "replica 1" "$(role_gen vol)"
		barrier p1
		head=$(exchange head x)
		barrier cut-a
		check "2: B sees the link down" wait_until 30 link_down
		lacking=$((512 - $(valid_count vol)))
		[ $lacking -gt 64 ] && ok "2: B lacks $lacking regions" || bad "2: B lacks only $lacking regions"
		refuse_saying "2: failover without --force" "lacks $lacking regions" dccctl failover vol
		rc_was "2: exit code 3 (refused)" 3
		expect_eq "2: nothing changed" "replica 1" "$(role_gen vol)"
		dccctl failover vol --force >/tmp/fo.out 2>&1 && ok "2: failover --force" || bad "2: failover --force: $(cat /tmp/fo.out)"
		grep -q "lacks: $lacking" /tmp/fo.out && ok "2: it says what may be lost" || bad "2: risks: $(cat /tmp/fo.out)"
		expect_eq "2: B owns" "owner 2" "$(role_gen vol)"
		expect_eq "2: origin" forced "$(status_field vol origin)"
		# A region B lacks past the first 8 MiB, which sum_head compares
		# with A's: B reads it (the read fails), then writes 64 whole
		# regions from it.  The read's fetch lock outlives its bio (dccd
		# may be filling the region); dccd, unpaired, must give it back
		# so that the write of that region does not wait for a fill that
		# cannot come, and fail after miss_timeout.
		r=$(first_invalid 128)
		[ "$r" -lt 448 ] || bad "2: no invalid region found from 128 ($r)"
		# (miss_timeout 2 for these two: the read waits it out.)
		dmsetup message vol 0 miss_timeout 2
		refuse "2: region $r, which B lacks, fails to read (never zeroes)" \
			$DD if=/dev/mapper/vol of=/dev/null bs=64k skip="$r" count=1 iflag=direct status=none
		check "2: B writes 4 MiB over it" $DD if=/dev/urandom of=/dev/mapper/vol bs=64k seek="$r" count=64 oflag=direct status=none
		dmsetup message vol 0 miss_timeout 10
		expect_eq "2: no region stays locked" 0 "$(locked_count vol)"
		expect_eq "2: 64 regions dirty at B" 64 "$(dirty_count vol)"
		barrier b-owns
		check "2: paired with A again" dccctl wait vol paired --timeout 120
		check "2: in sync" dccctl wait vol in-sync --timeout 120
		expect_eq "2: B reads A's data" "$head" "$(sum_head)"
		s2=$(sum_vol)
		exchange s2 "$s2" >/dev/null
		barrier p2
		powercut
		;;
	2)
		barrier forced
		check "3: the volume comes back" dcc_create vol "$DATA" "$META" 2 miss_timeout 10
		expect_eq "3: B comes back as" "owner 2" "$(role_gen vol)"
		check "3: B's application writes 1 MiB before dccd starts" \
			$DD if=/dev/urandom of=/dev/mapper/vol bs=1M seek=24 count=1 oflag=direct status=none
		# B's data device, A's and B's writes apart: nothing changes it
		# until a resolve names the outcome.
		b3=$(sum_data)
		start_dccd
		check "3: B records the split brain" wait_until 60 is_field vol split old
		dccctl events --json vol >/tmp/events3.out 2>&1 &
		events=$!
		check "3: in its metadata" sh -c "dccctl dump-meta $META | grep -q 'split *old (the newer owner.s generation 3)'"
		expect_eq "3: status: against generation 3" 3 \
			"$(dccctl status --json vol | sed -n 's/.*"split_generation":\([0-9]*\).*/\1/p')"
		dccctl status vol | grep -q "owned the volume by force (generation 3)" &&
			ok "3: ... and its text says so" || bad "3: status text at B: $(dccctl status vol)"
		refuse "3: B serves no write" $DD if=/dev/zero of=/dev/mapper/vol bs=4k count=1 oflag=direct status=none
		refuse "3: nor a read" $DD if=/dev/mapper/vol of=/dev/null bs=4k count=1 iflag=direct status=none
		refuse_saying "3: wait fails at once" "split brain" dccctl wait vol in-sync --timeout 60
		rc_was "3: wait's exit code 3" 3
		dccctl status vol | grep -q "dccctl resolve vol --discard-local" && ok "3: status names the way out" ||
			bad "3: status at B: $(dccctl status vol)"
		refuse_saying "3: failover is refused" "split brain" dccctl failover vol --force
		barrier seen
		sleep 2 # (A's pairing attempts meanwhile: still nothing may move)
		expect_eq "3: B's data device unchanged until resolve" "$b3" "$(sum_data)"
		expect_eq "3: ... nothing received" "0 0" "$(pushed) $(pulled)"
		dccctl resolve vol --discard-local >/tmp/r.out 2>&1 && ok "3: resolve --discard-local" ||
			bad "3: resolve: $(cat /tmp/r.out)"
		grep -q "16 regions written here dropped" /tmp/r.out && ok "3: it dropped B's 16 regions" ||
			bad "3: resolve said: $(cat /tmp/r.out)"
		check "3: B is replica of generation 3" wait_until 30 is_role_gen "replica 3"
		check "3: paired" dccctl wait vol paired --timeout 120
		check "3: in sync" dccctl wait vol in-sync --timeout 120
		check "3: B hydrated" dccctl wait vol hydrated --timeout 120
		expect_eq "3: split cleared at B" - "$(status_field vol split)"
		check "3: an event says so" wait_until 10 grep -q '"event":"split-brain".*"split":"none"' /tmp/events3.out
		kill $events 2>/dev/null
		# Only the divergent regions move: the 65 A wrote apart and the 16
		# B dropped (its INVALID_SET lists them; A sends them as pushes),
		# or a few more for a push sent twice: never a full copy.
		n=$(($(pushed) + $(pulled)))
		[ "$n" -ge 81 ] && [ "$n" -le 113 ] && ok "3: B received $n regions (81 of 512 diverged)" ||
			bad "3: B received $n regions; 81 of 512 diverged"
		s=$(sum_data)
		expect_eq "3: both copies equal" "$(exchange s3 "$s")" "$s"
		# 4: apart again; B takes the volume by force and writes.
		barrier p4
		check "4: B: its end of the link down" ip link set eth0 down
		check "4: B sees the link down" wait_until 30 link_down
		check "4: B takes the volume by force" dccctl failover vol --force
		expect_eq "4: B owns" "owner 4" "$(role_gen vol)"
		check "4: B writes 1 MiB" $DD if=/dev/urandom of=/dev/mapper/vol bs=1M seek=8 count=1 oflag=direct status=none
		check "4: B: its end up again" ip link set eth0 up
		check "4: B records the split brain, the newer site" wait_until 90 is_field vol split new
		dccctl status vol | grep -q "at the peer drops the peer's changes, here this site's" &&
			ok "4: status names both ways out" || bad "4: status at B: $(dccctl status vol)"
		dccctl resolve vol --discard-local >/tmp/r.out 2>&1 && ok "4: resolve --discard-local at the newer site" ||
			bad "4: resolve at B: $(cat /tmp/r.out)"
		cat /tmp/r.out
		grep -q "16 regions written here dropped" /tmp/r.out && ok "4: it dropped B's 16 regions" ||
			bad "4: resolve said: $(cat /tmp/r.out)"
		expect_eq "4: B is replica of generation 5" "replica 5" "$(role_gen vol)"
		expect_eq "4: ... origin resolved" resolved "$(status_field vol origin)"
		refuse "4: B serves no write" $DD if=/dev/zero of=/dev/mapper/vol bs=4k count=1 oflag=direct status=none
		check "4: paired" dccctl wait vol paired --timeout 120
		check "4: in sync" dccctl wait vol in-sync --timeout 120
		s=$(sum_data)
		expect_eq "4: both copies equal" "$(exchange s4 "$s")" "$s"
		# 5: B's end stays down from its force until after its second
		# force, so that A's resolve and B's cross.
		barrier p5
		check "5: B: its end of the link down" ip link set eth0 down
		check "5: B sees the link down" wait_until 30 link_down
		check "5: B takes the volume by force" dccctl failover vol --force
		check "5: B writes 1 MiB" $DD if=/dev/urandom of=/dev/mapper/vol bs=1M seek=16 count=1 oflag=direct status=none
		check "5: B: its end up again" ip link set eth0 up
		check "5: B records the split brain, the newer site" wait_until 90 is_field vol split new
		barrier p5b
		check "5: B: its end down again" ip link set eth0 down
		check "5: B sees the link down" wait_until 30 link_down
		check "5: resolve --discard-local at B, apart" dccctl resolve vol --discard-local
		expect_eq "5: B is replica of generation 7" "replica 7" "$(role_gen vol)"
		check "5: B takes the volume by force again" dccctl failover vol --force
		expect_eq "5: B owns generation 8" "owner 8" "$(role_gen vol)"
		check "5: B writes 1 MiB more" $DD if=/dev/urandom of=/dev/mapper/vol bs=1M seek=20 count=1 oflag=direct status=none
		b5=$($DD if=/dev/mapper/vol bs=1M skip=20 count=1 iflag=direct status=none | sha256sum | cut -d' ' -f1)
		sleep 5 # A resolves meanwhile
		check "5: B: its end up again" ip link set eth0 up
		check "5: paired" dccctl wait vol paired --timeout 120
		# (Rule 18 only if A's statement came first: A may have taken rule
		# 17 on B's, and then states replica 8.)
		grep -q "pairing rule 11" /tmp/dccd.log && bad "5: rule 11 in B's log" || ok "5: never rule 11 at B"
		expect_eq "5: B still owns generation 8" "owner 8" "$(role_gen vol)"
		check "5: in sync" dccctl wait vol in-sync --timeout 120
		check "5: B hydrated (the 16 regions it dropped come from A)" dccctl wait vol hydrated --timeout 120
		exchange b5 "$b5" >/dev/null
		expect_eq "5: both copies equal" "$(exchange s5 x)" "$(sum_data)"
		;;
	esac
fi
stop_dccd
check "remove" dmsetup remove vol
finish
