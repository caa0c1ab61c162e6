# A check of the test rig itself (no dcc volume in it): three sites, a, b
# and the witness site w, each reach the other two over their own links; a
# cuts ab, and then reaches b no longer, nor b a, while both still reach w;
# ab heals; w's power is cut once (in its first boot), it boots again, and
# all three meet again.  w has 1 CPU, 512 MiB and no disks.
# sites: 3
# timeout: 300
. ./lib.sh

case $SITE in
a) others="b w" ;;
b) others="a w" ;;
w) others="a b" ;;
*) bad "no site (\"$SITE\")"; finish ;;
esac
boot=${DCC_BOOT:-1}
reach_all() { for x in $others; do check "$SITE reaches $x at $(ip_of "$x")" wait_until 5 reaches "$x"; done; }

if [ "$boot" = 1 ]; then
	expect_eq "three sites" 3 "$SITES"
	case $SITE in
	a)
		expect_eq "eth0 is ab, as in a pair" eth0 "$(link_if ab)"
		expect_eq "DCC_IP" 10.99.0.1 "$DCC_IP"
		expect_eq "DCC_PEER_IP" 10.99.0.2 "$DCC_PEER_IP"
		expect_eq "WITNESS_IP" 10.99.1.3 "$WITNESS_IP"
		;;
	b)
		expect_eq "eth0 is ab, as in a pair" eth0 "$(link_if ab)"
		expect_eq "DCC_IP" 10.99.0.2 "$DCC_IP"
		expect_eq "DCC_PEER_IP" 10.99.0.1 "$DCC_PEER_IP"
		expect_eq "WITNESS_IP" 10.99.2.3 "$WITNESS_IP"
		;;
	w)
		expect_eq "w's address for a" 10.99.1.1 "$(ip_of a)"
		expect_eq "w's address for b" 10.99.2.2 "$(ip_of b)"
		refuse "w is not on ab: it cannot cut it" link_cut ab
		expect_eq "w has one CPU" 1 "$(nproc)"
		mem=$(sed -n 's/^MemTotal: *\([0-9]*\).*/\1/p' /proc/meminfo)
		[ "$mem" -lt 524288 ] && ok "w has at most 512 MiB (${mem} KiB)" || bad "w has $mem KiB"
		[ ! -e /dev/vda ] && ok "w has no disk" || bad "w has a disk"
		;;
	esac
	barrier up
	reach_all
	# Each pair exchanges a value over its own link (in an order that
	# cannot deadlock: ab, aw, bw).
	for x in $others; do
		expect_eq "exchange between $SITE and $x" "$x" "$(exchange_with "$x" hello "$SITE")"
	done
	barrier reached

	# a cuts ab; the barrier runs through w, so it still works.
	if [ "$SITE" = a ]; then
		check "a cuts ab" link_cut ab
		refuse "a cannot reach b" reaches b
		check "a still reaches w" wait_until 5 reaches w
	fi
	barrier cut
	case $SITE in
	b)
		refuse "b cannot reach a" reaches a
		check "b still reaches w" wait_until 5 reaches w
		;;
	w) reach_all ;;
	esac
	barrier seen
	[ "$SITE" = a ] && check "a heals ab" link_heal ab
	barrier healed
	reach_all
	[ "$SITE" = a ] && expect_eq "the link is used again" b "$(exchange healed a)"
	[ "$SITE" = b ] && expect_eq "the link is used again" a "$(exchange healed b)"
	barrier before-powercut
	if [ "$SITE" = w ]; then
		echo "DCC-KILL-ME"
		sleep 600
	fi
else
	expect_eq "only w boots again" w "$SITE"
	expect_eq "w's second boot" 2 "$boot"
fi
barrier back
reach_all
barrier done
finish
