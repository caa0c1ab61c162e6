#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The scenario of tests/debian.sh, run by dcc-test.service at every boot of
# sites a and b: Debian 12 with systemd as PID 1, booted from the same
# image, each with its own data (vdc) and metadata (vdd) disks, joined by
# one link; this file and lib.sh come on the disk labelled dcctest (vdb)
# with the two packages.
#   boot 1: dpkg -i of dcc-dkms and dcc-utils (DKMS builds the module here),
#     dccd --check of a good and of broken configurations, the volume
#     declared in /etc/dcc/volumes.d, the units enabled and started
#     (Type=notify: dccctl answers as soon as systemctl start returns),
#     the udev links, journald's -p warning, ocf-tester at b; reboot.
#   boot 2: the volume and dccd came back at boot, paired, same owner;
#     PostgreSQL at a on ext4 over the volume under pgbench, killed with -9,
#     the volume migrated at once, PostgreSQL started at b recovers, and
#     every transaction pgbench saw committed at a is there; then a
#     two-node Pacemaker cluster runs the volume as a promotable clone of
#     ocf:dcc:volume and moves its promoted role back to a (a migration);
#     power off.
set -u
for w in $(cat /proc/cmdline); do
	case $w in
	dcc.*=*)
		k=${w%%=*}
		k=$(echo "${k#dcc.}" | tr 'a-z' 'A-Z')
		export "DCC_$k=${w#*=}"
		;;
	esac
done
T=/mnt/t
# lib.sh's exchange and barrier talk with busybox's nc.
mkdir -p /run/dcc-test/bin
ln -sf /bin/busybox /run/dcc-test/bin/nc
export PATH=/run/dcc-test/bin:/usr/sbin:/usr/bin:/sbin:/bin
export DCC_DISKS=root,payload,data,meta
cd /tmp
. "$T/lib.sh"
state=/var/lib/dcc-test
mkdir -p $state
boot=$(($(cat $state/boot 2>/dev/null || echo 0) + 1))
echo $boot >$state/boot
sync
echo "DCC-BEGIN debian site $SITE boot $boot"
VOL=pg
UUID=5a5a5a5a-0000-4000-8000-0000000000d1
version=$(cat "$T/VERSION")

# A field of VOL in dccctl status --json: field VOL NAME
field() {
	dccctl status --json "$1" | python3 -c 'import json, sys
v = json.load(sys.stdin)["volumes"][0]
x = v.get(sys.argv[1])
print("null" if x is None else str(x).lower() if isinstance(x, bool) else x)' "$2"
}
active() { [ "$(systemctl is-active "$1")" = active ]; }
# After a failed check: what dccd said.
diag() { journalctl -b -u dccd -o cat --no-pager | tail -n 20; }

# The end of a boot: the kernel's view, then power off or reboot.
end_boot() {
	echo "DCC-DMESG-BEGIN"
	dmesg
	echo "DCC-DMESG-END"
	echo "DCC-TAINT $(cat /proc/sys/kernel/tainted)"
	echo "DCC-SUMMARY failures=$failures"
	if [ "$1" = reboot ] && [ "$failures" = 0 ]; then
		echo "DCC-REBOOT"
		systemctl reboot
	else
		echo "DCC-RESULT debian $([ "$failures" = 0 ] && echo 0 || echo 1)"
		systemctl poweroff
	fi
	exit 0
}

if [ "$boot" = 1 ]; then
	# The network as an admin writes it: systemd-networkd, by MAC, so that
	# dccd finds its address at the next boot before it binds.
	cat >/etc/systemd/network/10-dcc.network <<-NET
		[Match]
		MACAddress=52:54:00:12:34:0$([ "$SITE" = a ] && echo 1 || echo 2)
		[Network]
		Address=$DCC_IP/24
	NET
	systemctl enable --now systemd-networkd.service >/dev/null 2>&1
	check "link to $PEER" wait_until 60 ping -c 1 -W 1 "$DCC_PEER_IP"
	hostnamectl set-hostname "site-$SITE" 2>/dev/null || echo "site-$SITE" >/etc/hostname

	# The packages, as an admin installs them.
	t0=$(uptime_s)
	check "dpkg -i dcc-dkms (DKMS builds the module here)" dpkg -i "$T"/dcc-dkms_*.deb
	echo "(dcc-dkms installed in $(awk -v a="$(uptime_s)" -v b="$t0" 'BEGIN { printf "%.1f", a - b }') s)"
	check "dpkg -i dcc-utils" dpkg -i "$T"/dcc-utils_*.deb
	dkms status dcc | tee /tmp/dkms.out
	grep -q "dcc/$version, $(uname -r), x86_64: installed" /tmp/dkms.out &&
		ok "dkms status: dcc/$version installed for $(uname -r)" || bad "dkms status: $(cat /tmp/dkms.out)"
	expect_eq "modinfo dm-dcc: version" "$version" "$(modinfo -F version dm-dcc 2>&1)"
	expect_eq "dccd --version" "dccd $version" "$(dccd --version 2>&1)"

	# The configuration, and dccd --check on it and on broken ones.
	dccd_config
	chmod 0600 /etc/dcc/dccd.toml
	check "dccd --check of the configuration" dccd --check --config /etc/dcc/dccd.toml
	sed 's|^peer = .*|peer = "tcp://nowhere"|' /etc/dcc/dccd.toml >/tmp/bad1.toml
	refuse_saying "dccd --check of a bad peer endpoint names file and line" "/tmp/bad1.toml:" \
		dccd --check --config /tmp/bad1.toml
	cat /tmp/check.out
	expect_eq "... exit status 2 (configuration)" 2 "$(cat /tmp/check.rc)"
	sed "s|^peer_public_key = .*|peer_public_key = \"$(sed -n 's/^public_key = "\(.*\)"/\1/p' /etc/dcc/dccd.toml)\"|" \
		/etc/dcc/dccd.toml >/tmp/bad2.toml
	refuse_saying "dccd --check of the site's own key as the peer's" "peer_public_key" \
		dccd --check --config /tmp/bad2.toml
	cat /tmp/check.out

	# The volume: metadata, its declaration, the units.
	if [ "$SITE" = a ]; then
		fill_random "$DATA" 16
		check "format-meta at a" dccctl format-meta --data "$DATA" --meta "$META" --uuid $UUID
	else
		check "format-meta at b (empty)" dccctl format-meta --data "$DATA" --meta "$META" --uuid $UUID --empty
	fi
	check "the package made /etc/dcc/volumes.d" test -d /etc/dcc/volumes.d
	printf 'data = "%s"\nmeta = "%s"\n' "$DATA" "$META" >/etc/dcc/volumes.d/$VOL.toml
	check "systemctl enable --now dcc-volumes" systemctl enable --now dcc-volumes.service
	check "the volume is up" test -b /dev/mapper/$VOL
	check "systemctl enable --now dccd" systemctl enable --now dccd.service
	# Type=notify: systemctl start returned once dccd said READY=1, so its
	# control socket answers at once.
	check "dccctl status answers as systemctl start returns" dccctl status $VOL
	expect_eq "dccd's unit: active, notify" "active notify" \
		"$(systemctl show -P ActiveState dccd) $(systemctl show -P Type dccd)"
	check "udev: /dev/dcc/$VOL" wait_until 20 test -b /dev/dcc/$VOL
	check "udev: /dev/disk/by-id/dcc-$UUID" wait_until 20 test -b /dev/disk/by-id/dcc-$UUID
	expect_eq "... both the volume's device" "$(readlink -f /dev/mapper/$VOL)" \
		"$(readlink -f /dev/disk/by-id/dcc-$UUID)"
	check "paired" dccctl wait $VOL paired --timeout 120 || diag
	[ "$SITE" = b ] && check "b in sync" dccctl wait $VOL in-sync --timeout 300

	# journald: dccd's warnings at priority warning.  A reload with a
	# change that needs a restart is one.
	sed -i 's/^link_timeout_ms = .*/link_timeout_ms = 3500/' /etc/dcc/dccd.toml
	check "systemctl reload dccd" systemctl reload dccd
	check "journalctl -p warning shows dccd's warning" \
		wait_until 20 sh -c 'journalctl -b -u dccd -p warning -o cat | grep -q "taken at the next start"'
	journalctl -b -u dccd -p warning -o cat | tail -n 3
	journalctl -b -u dccd -p info -o cat | grep -q "taken at the next start" || true
	n_info=$(journalctl -b -u dccd -p info..info -o cat | grep -c 'warning:' || true)
	expect_eq "no warning of dccd logged at priority info" 0 "$n_info"

	# The Pacemaker agent at b, with a's dccd up (as the ocf scenario).
	barrier tester
	if [ "$SITE" = b ]; then
		mkdir -p /tmp/pcmk
		printf '#!/bin/sh\necho "$*" >>/tmp/pcmk.log\n' >/tmp/pcmk/crm_attribute
		chmod +x /tmp/pcmk/crm_attribute
		PATH="/tmp/pcmk:$PATH" OCF_ROOT=/usr/lib/ocf ocf-tester -v -n $VOL -o volume=$VOL \
			/usr/lib/ocf/resource.d/dcc/volume >/tmp/tester.out 2>&1
		expect_eq "ocf-tester passes" 0 $?
		grep -q 'passed all tests' /tmp/tester.out && ok "... all tests" || bad "ocf-tester: $(tail -n 20 /tmp/tester.out)"
		# ocf-tester's stop took the volume down here; as at boot again.
		check "systemctl restart dcc-volumes" systemctl restart dcc-volumes.service
	fi
	barrier tester-done
	check "paired again" dccctl wait $VOL paired --timeout 120 || diag
	expect_eq "a owns the volume" owner "$(dccctl status --json $VOL | python3 -c 'import json,sys; v=json.load(sys.stdin)["volumes"][0]; print(v["role"] if "'$SITE'" == "a" else v["peer_role"])')"
	field $VOL generation >$state/generation
	barrier reboot
	end_boot reboot
fi

# Boot 2: what came back at boot.
check "dcc-volumes.service active after the reboot" active dcc-volumes.service
check "dccd.service active after the reboot" wait_until 60 active dccd.service
check "the volume came back" test -b /dev/mapper/$VOL
check "udev: /dev/dcc/$VOL after the reboot" wait_until 20 test -b /dev/dcc/$VOL
check "paired after the reboot" dccctl wait $VOL paired --timeout 120 || diag
expect_eq "generation as before the reboot" "$(cat $state/generation)" "$(field $VOL generation)"
expect_eq "role as before the reboot" "$([ "$SITE" = a ] && echo owner || echo replica)" "$(field $VOL role)"
[ "$SITE" = b ] && check "b in sync" dccctl wait $VOL in-sync --timeout 300

# PostgreSQL across a migration.
PG=/usr/lib/postgresql/15/bin
pg() { runuser -u postgres -- "$@"; }
mkdir -p /srv/pg /run/postgresql
chown postgres:postgres /run/postgresql
if [ "$SITE" = a ]; then
	check "mkfs.ext4 on the volume" mkfs.ext4 -q /dev/dcc/$VOL
	check "mount" mount /dev/dcc/$VOL /srv/pg
	mkdir /srv/pg/data /srv/pg/log && chown postgres:postgres /srv/pg/data /srv/pg/log
	check "initdb" pg $PG/initdb -D /srv/pg/data --auth=trust
	check "postgres starts at a" pg $PG/pg_ctl -D /srv/pg/data -l /srv/pg/log/a -w start
	check "pgbench -i" pg $PG/pgbench -i -s 1 postgres
	pg $PG/pgbench -c 4 -j 2 -T 300 postgres >/tmp/pgbench.out 2>&1 &
	bench=$!
	sleep 20
	# Each committed transaction of pgbench's default script adds a row to
	# pgbench_history.  The power of a VM host gone: every postgres
	# process killed at once.
	check "postgres killed with -9" pkill -KILL -u postgres -x postgres
	wait $bench
	cat /tmp/pgbench.out | tail -n 12
	seen=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' /tmp/pgbench.out)
	[ -n "$seen" ] && [ "$seen" -gt 0 ] && ok "pgbench saw $seen transactions committed" ||
		bad "pgbench reported no committed transaction"
	check "umount at a" umount /srv/pg
	t0=$(uptime_s)
	check "migrate to b" dccctl migrate $VOL --to b --timeout 120 || diag
	echo "(migrated in $(awk -v a="$(uptime_s)" -v b="$t0" 'BEGIN { printf "%.1f", a - b }') s)"
	exchange seen "${seen:-0}" >/dev/null
	expect_eq "b counted" "ok" "$(exchange counted -)"
else
	seen=$(exchange seen -)
	check "b owns the volume" dccctl wait $VOL role=owner --timeout 120
	check "mount at b" mount /dev/dcc/$VOL /srv/pg
	check "postgres starts at b (recovery)" pg $PG/pg_ctl -D /srv/pg/data -l /srv/pg/log/b -w -t 300 start
	grep -E 'not properly shut down|automatic recovery|redo done' /srv/pg/log/b
	grep -q 'automatic recovery in progress' /srv/pg/log/b && ok "postgres recovered from a crash at b" ||
		bad "postgres at b did not recover: $(tail -n 5 /srv/pg/log/b)"
	got=$(pg psql -At -c 'select count(*) from pgbench_history' postgres)
	echo "(pgbench saw $seen committed at a; b has $got)"
	[ -n "$got" ] && [ "$got" -ge "$seen" ] && ok "every transaction pgbench saw committed is at b ($got >= $seen)" ||
		bad "b has $got transactions, pgbench saw $seen committed"
	# At most one in flight per client may have committed unseen.
	[ -n "$got" ] && [ "$got" -le $((seen + 4)) ] && ok "and no more than the 4 in flight besides" ||
		bad "b has $got transactions, more than $seen + 4"
	check "pg_amcheck at b" pg $PG/pg_amcheck --install-missing -a
	check "postgres stops at b" pg $PG/pg_ctl -D /srv/pg/data -w stop
	check "umount at b" umount /srv/pg
	exchange counted ok >/dev/null
fi

# Pacemaker itself: a two-node cluster (corosync over the link; no
# fencing, which a test may leave out and production may not) runs the
# volume as a promotable clone of ocf:dcc:volume.  b owns it now, so
# Pacemaker finds it promoted there; a location constraint for a of
# INFINITY (the agent's promotion score, 10000 at the owner, outweighs
# a finite one, as for any move of a promoted role) moves the promoted
# role, which is a migration (demote at b, promote at a).
cat >/etc/corosync/corosync.conf <<-CONF
	totem {
		version: 2
		cluster_name: dcc
		transport: knet
		crypto_cipher: none
		crypto_hash: none
	}
	nodelist {
		node {
			ring0_addr: 10.99.0.1
			name: site-a
			nodeid: 1
		}
		node {
			ring0_addr: 10.99.0.2
			name: site-b
			nodeid: 2
		}
	}
	quorum {
		provider: corosync_votequorum
		two_node: 1
	}
	logging {
		to_syslog: yes
	}
CONF
check "corosync and pacemaker start" systemctl start corosync pacemaker
promoted_at() { crm_mon -1 2>/dev/null | grep -q "Promoted: \[ site-$1 \]"; }
online() { crm_mon -1 2>/dev/null | grep -q "Online: \[ site-a site-b \]"; }
check "both nodes online in the cluster" wait_until 180 online || crm_mon -1
barrier cluster
if [ "$SITE" = a ]; then
	check "no fencing (test cluster)" crm_attribute --type crm_config --name stonith-enabled --update false
	check "the clone of ocf:dcc:volume" cibadmin --create --scope resources --xml-text \
		'<clone id="pg-clone">
		  <meta_attributes id="pg-clone-meta">
		    <nvpair id="pg-clone-promotable" name="promotable" value="true"/>
		  </meta_attributes>
		  <primitive id="pg-vol" class="ocf" provider="dcc" type="volume">
		    <instance_attributes id="pg-vol-attrs">
		      <nvpair id="pg-vol-volume" name="volume" value="pg"/>
		    </instance_attributes>
		    <operations>
		      <op id="pg-vol-mon-p" name="monitor" interval="5s" role="Promoted"/>
		      <op id="pg-vol-mon-u" name="monitor" interval="7s" role="Unpromoted"/>
		    </operations>
		  </primitive>
		</clone>'
	check "promoted at b preferred" cibadmin --create --scope constraints --xml-text \
		'<rsc_location id="pg-promoted-here" rsc="pg-clone" role="Promoted" node="site-b" score="100"/>'
fi
check "Pacemaker finds the volume promoted at b, its owner" wait_until 180 promoted_at b || crm_mon -1
barrier found
expect_eq "... and moved nothing" "$([ "$SITE" = a ] && echo replica || echo owner)" "$(field $VOL role)"
[ "$SITE" = a ] && check "promoted at a preferred" cibadmin --replace --scope constraints --xml-text \
	'<constraints><rsc_location id="pg-promoted-here" rsc="pg-clone" role="Promoted" node="site-a" score="INFINITY"/></constraints>'
check "Pacemaker moved the promoted role to a" wait_until 240 promoted_at a || crm_mon -1
check "... by a migration: a owns the volume" dccctl wait $VOL owner=a --timeout 120
expect_eq "... and this site is its $([ "$SITE" = a ] && echo owner || echo replica)" \
	"$([ "$SITE" = a ] && echo owner || echo replica)" "$(field $VOL role)"
crm_mon -1 | grep -q "Failed Resource Actions" && bad "Pacemaker lists failed actions: $(crm_mon -1)" ||
	ok "no failed resource action"
# The cluster leaves the volume as it is while it stops (else its stop
# at power-off would demote and stop the volume at both sites at once).
barrier moved
[ "$SITE" = a ] && check "maintenance mode" crm_attribute --type crm_config --name maintenance-mode --update true
barrier maintenance
check "pacemaker and corosync stop" systemctl stop pacemaker corosync
expect_eq "the volume is still up, its role kept" "$([ "$SITE" = a ] && echo owner || echo replica)" \
	"$(field $VOL role)"
barrier done
end_boot poweroff
