# A power cut of the old owner's VM at each step of a handover, while the
# new owner runs on: after the reboot the old owner never accepts a write
# until the pairing rules settled who owns the volume, and the data is
# whole at whichever site owns it.  (dccd dies at its crash point and the
# VM loses its power at once; what the metadata holds then is what a power
# cut leaves.)
#   1. after sending the handover (boot 2): yielding 2, B took it -> B owns 2 (rule 5)
#      then B gives it back: A owns 3
#   2. after persisting yielding, before sending (boot 3): B burns 4 (rule 3),
#      A takes it back (rule 4) -> A owns 4
#   3. on the ack, before persisting replica (boot 4): yielding 5 -> B owns 5 (rule 5)
# sites: 2
# disks: data=32M meta=1M
# timeout: 300
. ./lib.sh

UUID=5a5a5a5a-0000-4000-8000-00000000000c
dccd_config 'handover_timeout_ms = 5000'
sum_vol() { $DD if=/dev/mapper/vol bs=1M iflag=direct status=none | sha256sum | cut -d' ' -f1; }
is_role_gen() { [ "$(role_gen vol)" = "$1" ]; }
# After a reboot: the table again, no write before pairing, then dccd.
back_up() { # STEP EXPECTED_ROLE_GEN
	check "$1: the volume comes back" dcc_create vol "$DATA" "$META" 2 miss_timeout 20
	expect_eq "$1: the old owner comes back as" "$2" "$(role_gen vol)"
	refuse "$1: and accepts no write before it pairs" \
		$DD if=/dev/zero of=/dev/mapper/vol bs=4k count=1 oflag=direct status=none
	start_dccd
}
cut_at() { # POINT: the next handover dies there, and the power goes
	stop_dccd
	start_dccd "$1"
	check "paired again" wait_until 60 dccctl wait vol paired --timeout 1
	dccctl migrate vol --to b >/tmp/migrate.out 2>&1 &
	powercut_on_crash
}

if [ "$SITE" = a ]; then
	case ${DCC_BOOT:-1} in
	1)
		dccctl format-meta --data "$DATA" --meta "$META" --uuid $UUID --role owner >/dev/null
		check "create" dcc_create vol "$DATA" "$META" 2 miss_timeout 20
		start_dccd
		check "paired" dccctl wait vol paired --timeout 60
		check "write 8 MiB at A" $DD if=/dev/urandom of=/dev/mapper/vol bs=1M seek=8 count=8 oflag=direct status=none
		exchange want "$(sum_vol)" >/dev/null
		check "B holds it" dccctl wait vol in-sync --timeout 60
		cut_at handover-sent
		;;
	2)
		back_up 1 "yielding 2"
		check "1: A learns B took generation 2 (rule 5)" wait_until 60 is_role_gen "replica 2"
		barrier step1
		check "1: B gave it back" dccctl wait vol owner=a --timeout 60
		expect_eq "1: A owns generation 3" "owner 3" "$(role_gen vol)"
		check "in sync" dccctl wait vol in-sync --timeout 60
		cut_at handover-demoted
		;;
	3)
		back_up 2 "yielding 4"
		check "2: A takes it back once B refused generation 4 (rule 4)" wait_until 60 is_role_gen "owner 4"
		want=$(exchange want2 x)
		expect_eq "2: A's data is whole" "$want" "$(sum_vol)"
		barrier step2
		check "in sync" dccctl wait vol in-sync --timeout 60
		cut_at handover-acked
		;;
	4)
		back_up 3 "yielding 5"
		check "3: A learns B owns generation 5 (rule 5)" wait_until 60 is_role_gen "replica 5"
		barrier step3
		stop_dccd
		check "remove" dmsetup remove vol
		grep -aE "rule|yielding|generation|warning" /tmp/dccd.log | head -n 30
		;;
	esac
else
	dccctl format-meta --data "$DATA" --meta "$META" --uuid $UUID --role replica >/dev/null
	check "create" dcc_create vol "$DATA" "$META" 2 miss_timeout 20
	start_dccd
	check "paired" dccctl wait vol paired --timeout 60
	want=$(exchange want x)
	barrier step1
	expect_eq "1: B owns generation 2" "owner 2" "$(role_gen vol)"
	expect_eq "1: B reads what A wrote" "$want" "$(sum_vol)"
	check "1: B gives it back to A" dccctl migrate vol --to a
	exchange want2 "$want" >/dev/null
	barrier step2
	expect_eq "2: B refused generation 4 for good (rule 3)" "replica 4" "$(role_gen vol)"
	barrier step3
	expect_eq "3: B owns generation 5" "owner 5" "$(role_gen vol)"
	expect_eq "3: B reads what A wrote" "$want" "$(sum_vol)"
	expect_eq "no bio timed out" 0 "$(timeouts_of vol)"
	stop_dccd
	check "remove" dmsetup remove vol
	grep -aE "rule|yielding|generation|warning" /tmp/dccd.log | head -n 30
fi
finish
