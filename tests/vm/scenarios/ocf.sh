# The Pacemaker resource agent ocf:dcc:volume, as a cluster runs it: at B,
# ocf-tester (Debian's resource-agents) drives start, monitor, promote
# (migrate here), demote (hand back), stop, and their repeats, with A's
# dccd and volume up; every action must give the OCF exit code.  Then the
# agent's own refusals: A, owner, cannot demote while B is down (nobody
# could take the volume) and stays owner; monitor says 8 for an owner,
# 7 for a device that is not there; validate-all refuses a volume not
# declared here (5) and a bad name (6); stop of what is not there is 0.  A's data is the same at the end.
# Promotion scores: Pacemaker is not in this guest, so a crm_attribute that
# records what the agent asks of it stands in; the scores are checked
# against the real dccd's states: 10000 at the owner, 1000 at B paired and
# in sync, none after stop or for a device that is not there.
# sites: 2
# disks: data=32M meta=1M
# timeout: 400
. ./lib.sh

UUID=5a5a5a5a-0000-4000-8000-0000000000c1
AGENT=/usr/lib/ocf/resource.d/dcc/volume
if [ "$SITE" = a ]; then
	fill_random "$DATA" 32
	dccctl format-meta --data "$DATA" --meta "$META" --uuid $UUID >/dev/null
else
	dccctl format-meta --data "$DATA" --meta "$META" --uuid $UUID --empty >/dev/null
fi
mkdir -p /etc/dcc/volumes.d
printf 'data = "%s"\nmeta = "%s"\n' "$DATA" "$META" >/etc/dcc/volumes.d/vol.toml
check "dccctl up vol" dccctl up vol
dccd_config
start_dccd
check "paired" dccctl wait vol paired --timeout 60
mkdir -p /tmp/pcmk
printf '#!/bin/sh\necho "$*" >>/tmp/pcmk.log\n' >/tmp/pcmk/crm_attribute
chmod +x /tmp/pcmk/crm_attribute
export PATH="/tmp/pcmk:$PATH"
# The last promotion score the agent set: a number, or none once removed.
score() { tail -n1 /tmp/pcmk.log 2>/dev/null | sed -n 's/^--promotion -l reboot -v \([0-9]*\)$/\1/p; s/^--promotion -l reboot -D$/none/p'; }
# PAIR_TIMEOUT=N agent ...: the agent's pair_timeout (default 30 s).
agent() {
	OCF_RESOURCE_INSTANCE=vol OCF_RESKEY_volume=${VOLNAME:-vol} OCF_RESKEY_pair_timeout=${PAIR_TIMEOUT:-30} \
		OCF_ROOT=/usr/lib/ocf "$AGENT" "$@"
}
sum_data() { $DD if="$DATA" bs=1M iflag=direct status=none | sha256sum | cut -d' ' -f1; }

if [ "$SITE" = a ]; then
	before=$(sum_data)
	agent monitor
	expect_eq "monitor at the owner: 8 (promoted)" 8 $?
	expect_eq "promotion score at the owner" 10000 "$(score)"
	barrier tester
	barrier tester-done
	expect_eq "A owns the volume after the tester's last demote" owner "$(role_of vol)"
	# The tester promotes three times (its check for the action, then twice)
	# and demotes three times, each a real migration: generation 1 + 6.
	expect_eq "generation 7: three promotions of B, three demotions" 7 "$(status_field vol generation)"
	# B's dccd is stopped now: nobody could take the volume.
	unpaired() { dccctl status --json vol | grep -q '"paired":false'; }
	check "A sees B gone" wait_until 30 unpaired
	# It waits pair_timeout for the sites to pair before it refuses.
	PAIR_TIMEOUT=3 agent demote 2>/tmp/demote.err
	expect_eq "demote while the other site is down: 1 (generic error)" 1 $?
	grep -q 'ocf-exit-reason:cannot demote: not paired' /tmp/demote.err && ok "... saying why" ||
		bad "demote's reason: $(cat /tmp/demote.err)"
	expect_eq "... and A stays owner" owner "$(role_of vol)"
	agent monitor
	expect_eq "monitor: still 8" 8 $?
	check "A reads its volume" $DD if=/dev/mapper/vol bs=1M count=4 iflag=direct of=/dev/null status=none
	VOLNAME=nosuch agent validate-all 2>/tmp/validate.err
	expect_eq "validate-all of a volume not declared here: 5 (not installed on this node)" 5 $?
	grep -q 'nosuch is not declared here' /tmp/validate.err && ok "... saying so" || bad "validate-all: $(cat /tmp/validate.err)"
	VOLNAME=nosuch agent monitor
	expect_eq "monitor of a volume with no device: 7" 7 $?
	expect_eq "... and its promotion score is removed" none "$(score)"
	VOLNAME=nosuch agent stop
	expect_eq "stop of a volume not declared here: 0 (nothing runs)" 0 $?
	VOLNAME='../x' agent validate-all 2>/dev/null
	expect_eq "validate-all of a name that is no volume name: 6 (misconfigured)" 6 $?
	stop_dccd
	expect_eq "A's data is the same (nothing was written)" "$before" "$(sum_data)"
else
	check "B in sync" dccctl wait vol in-sync --timeout 120
	agent monitor
	expect_eq "monitor at B: 0 (a replica)" 0 $?
	expect_eq "promotion score at B, paired and in sync" 1000 "$(score)"
	barrier tester
	grep -q '^nobody:' /etc/passwd 2>/dev/null || echo 'nobody:x:65534:65534:nobody:/nonexistent:/bin/sh' >>/etc/passwd
	OCF_ROOT=/usr/lib/ocf ocf-tester -v -n vol -o volume=vol "$AGENT" >/tmp/tester.out 2>&1
	rc=$?
	grep -E 'passed all tests|failed|Testing|\* ' /tmp/tester.out | head -n 40
	expect_eq "ocf-tester passes" 0 $rc
	grep -q 'passed all tests' /tmp/tester.out && ok "... all tests" || bad "ocf-tester: $(tail -n 20 /tmp/tester.out)"
	grep -q 'partially supports promotable' /tmp/tester.out && bad "promotable clone support is partial" ||
		ok "promote and demote both supported"
	expect_eq "promotion score at B after the tester's stop: removed" none "$(score)"
	agent monitor
	expect_eq "monitor at B after the tester's stop: 7" 7 $?
	# A volume up while dccd runs is known to it at once, not at its next
	# scan: dccctl up VOL && dccctl wait VOL paired.
	check "dccctl up, then dccd knows the volume at once" sh -c 'dccctl up vol && dccctl status vol'
	stop_dccd
	barrier tester-done
fi
grep -aE "owns|handover|warning" /tmp/dccd.log | head -n 8
finish
