#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Run VM scenarios: build the module and an initramfs for each kernel line,
# boot each scenario in QEMU (Debian's kernel, uncompressed once and booted
# by its PVH entry point: kernel_vmlinux in common.sh), judge it from the
# serial console.
#
#   tests/vm/run.sh [--kernel 6.1|6.12|RELEASE] [--jobs N] [--show] [--bench] [SCENARIO...]
#
# A scenario is tests/vm/scenarios/NAME.sh (with --bench, tests/vm/bench/NAME.sh);
# --show prints what each one said on the console.  Its header may say
#   # disks: data=64M meta=1M src=64M   (virtio disks, in order: vda, vdb, ...)
#   # boots: 2                         (phases; each boot sees the same disks)
#   # timeout: 300                     (seconds per boot)
#   # memory: 1536                     (MiB of guest RAM; default 768)
#   # cpus: 2                          (vCPUs of a single-site VM; default 1:
#                                        two such VMs run at a time on the
#                                        host's two cores, and one vCPU each
#                                        ran the 16 of them in 8 % less time)
#   # sites: 2                         (two VMs, a and b, each with its own
#                                        disks and one vCPU, joined by one
#                                        virtio-net link; two such scenarios
#                                        run at a time, as --jobs says)
#   # sites: 3                         (three VMs: a and b as above and w, a
#                                        witness site, with one link between
#                                        each two: ab, aw, bw; run alone)
#   # alone: yes                       (two sites that keep both cores busy:
#                                        run alone, with the three-site ones;
#                                        beside another pair each ran 2-5
#                                        times longer, many and demo 272 s
#                                        together against 205 s one after
#                                        the other)
#   # disks-w: data=8M                 (w's disks; by default it has none)
#   # memory-w: 512                    (w's MiB of RAM; default 512)
#   # kernels: all                     (a scenario of two or three sites that
#                                        runs on every kernel line by default;
#                                        the others run on the first one unless
#                                        --kernel names a line: they exercise
#                                        the daemon, and every single-site
#                                        scenario runs on both)
# A boot that prints DCC-KILL-ME is powered off at once (kill -9 of QEMU).
# A single site then boots the next phase with dcc.acked=<last "ACK n" line of
# the killed boot>; a site of a pair (or of three) boots again at once, with
# dcc.boot=N and the same disks, while the other sites run on (their links
# are connectionless, so any may come and go).  A scenario passes when the
# last boot of each VM ends with DCC-RESULT 0, no boot shows a WARN, BUG or
# oops, and the kernel is tainted by nothing but the out-of-tree module (O,
# E).  Disk images use cache=unsafe: a guest's flush costs the host no
# fdatasync, which changes nothing for a power cut (killing QEMU never drops
# the host's page cache).  Sites, links and their addresses: guest/lib.sh.
source "$(dirname "$0")/common.sh"

kernels=()
jobs=2
scenarios=()
show=0
sdir=scenarios
while (($#)); do
	case $1 in
	--kernel) kernels+=("$2"); shift 2 ;;
	--jobs) jobs=$2; shift 2 ;;
	--show) show=1; shift ;;
	--bench) sdir=bench; jobs=1; shift ;;
	-h | --help) sed -n '3,40p' "$0"; exit 0 ;;
	*) scenarios+=("$1"); shift ;;
	esac
done
((${#scenarios[@]})) || for f in "$VMDIR/$sdir"/*.sh; do scenarios+=("$(basename "$f" .sh)"); done
for s in "${scenarios[@]}"; do [ -f "$VMDIR/$sdir/$s.sh" ] || die "no $sdir/$s.sh"; done
header() { sed -n "s/^# $2: *//p" "$VMDIR/$sdir/$1.sh" | head -n1; }
for s in "${scenarios[@]}"; do
	case $(header "$s" sites) in "" | 1 | 2 | 3) ;; *) die "$s: sites must be 1, 2 or 3" ;; esac
	case $(header "$s" cpus) in "" | 1 | 2) ;; *) die "$s: cpus must be 1 or 2" ;; esac
done

# Run alone (or from tests/bench.sh) on a new machine, it installs what the
# rig needs; tests/run-all.sh has done so already.
install_host_packages
mapfile -t all_kernels < <(resolve_kernels)
selected=()
if ((${#kernels[@]})); then
	for k in "${kernels[@]}"; do
		# "6.1" selects 6.1.x, not 6.12.x
		for r in "${all_kernels[@]}"; do
			[[ $r == "$k" || $r == "$k".* || $r == "$k"-* ]] && selected+=("$r")
		done
	done
else
	selected=("${all_kernels[@]}")
fi
((${#selected[@]})) || die "no kernel matches ${kernels[*]}"
explicit_kernels=${#kernels[@]}

build_userspace
declare -A initrd vmlinux
for rel in "${selected[@]}"; do
	prepare_kernel "$rel"
	ko=$(build_module "$rel")
	initrd[$rel]=$(build_initramfs "$rel" "$ko")
	vmlinux[$rel]=$(kernel_vmlinux "$rel")
done

# Three sites: site numbers, and links in the order of their subnets
# (10.99.0, .1, .2) and MACs (52:54:00:12:34, :35, :36).  Site X's end of
# link L has 10.99.<L's index>.<X's number> and MAC ...:<L's octet>:0<X's
# number>; a and b's ends of ab are those of a pair.  guest/lib.sh knows
# the same table.
site_num() { case $1 in a) echo 1 ;; b) echo 2 ;; w) echo 3 ;; esac; }
LINKS=(ab aw bw)

# boot REL NAME PHASE WORKDIR EXTRA_CMDLINE [SITE NET [BOOT]]
#   -> console log in WORKDIR/console-PHASE[-SITE[-bootN]].log.
# NET: a pair's netdev options, or for three sites the first of 6 UDP ports.
boot() {
	local rel=$1 name=$2 phase=$3 work=$4 extra=$5 site=${6:-} net=${7:-} nboot=${8:-1} timeout drives=() disks="" d
	timeout=$(header "$name" timeout)
	timeout=${timeout:-240}
	local dir=$work${site:+/$site} dkey=disks mkey=memory mdef=768 cpus
	# One vCPU a VM: VMs run side by side (two single-site ones, two pairs)
	# on the host's cores.  A single-site scenario may ask for two; a
	# benchmark has two, and runs alone.
	cpus=$(header "$name" cpus)
	[ -n "$site" ] && cpus=1
	[ "$sdir" = bench ] && cpus=2
	# With two vCPUs under TCG, Linux finds the TSCs unsynchronized at
	# boot and falls back to the emulated HPET: each clock read is then a
	# system call and a device access under QEMU's global lock (1 us
	# against 0.09 for the TSC in a guest, measured), which hardware never
	# pays.  The vCPUs read the host's TSC, which is synchronized (40000
	# crossings between two pinned threads found no step back).
	local tsc=""
	((${cpus:-1} > 1)) && tsc="tsc=reliable "
	[ "$site" = w ] && dkey=disks-w mkey=memory-w mdef=512
	for d in $(header "$name" "$dkey"); do
		drives+=(-drive "file=$dir/${d%%=*}.img,format=raw,if=virtio,cache=unsafe,discard=unmap")
		disks+="${disks:+,}${d%%=*}"
	done
	# The programs' disk comes last: the scenario's disks keep vda, vdb...
	drives+=(-drive "file=$(tools_image "$rel"),format=raw,if=virtio,readonly=on")
	local netargs=()
	if [ -n "$site" ] && [ "$(header "$name" sites)" = 3 ]; then
		# One NIC per link this site is on, found in the guest by its MAC
		# (dcc.nets=IP@MAC,...): at a and b the ab NIC comes first (eth0),
		# as in a pair.  Each link is a UDP pair of ports: its first-named
		# site binds the even one.
		local i l me you mac nets="" n
		n=$(site_num "$site")
		for i in 0 1 2; do
			l=${LINKS[i]}
			[[ $l == *$site* ]] || continue
			me=$((net + 2 * i)) you=$((net + 2 * i + 1))
			[ "$site" = "${l:0:1}" ] || { me=$you; you=$((net + 2 * i)); }
			mac=52:54:00:12:$((34 + i)):0$n
			netargs+=(-netdev "socket,id=$l,udp=127.0.0.1:$you,localaddr=127.0.0.1:$me"
				-device "virtio-net-pci,netdev=$l,mac=$mac")
			nets+="${nets:+,}10.99.$i.$n@$mac"
		done
		extra+=" dcc.site=$site dcc.sites=3 dcc.boot=$nboot dcc.nets=$nets"
		case $site in
		a) extra+=" dcc.ip=10.99.0.1 dcc.peer_ip=10.99.0.2" ;;
		b) extra+=" dcc.ip=10.99.0.2 dcc.peer_ip=10.99.0.1" ;;
		esac
	elif [ -n "$site" ]; then
		netargs=(-netdev "socket,id=n0,$net" -device "virtio-net-pci,netdev=n0,mac=52:54:00:12:34:$([ "$site" = a ] && echo 01 || echo 02)")
		extra+=" dcc.site=$site dcc.boot=$nboot dcc.ip=10.99.0.$([ "$site" = a ] && echo 1 || echo 2) dcc.peer_ip=10.99.0.$([ "$site" = a ] && echo 2 || echo 1)"
	fi
	local logf="$work/console-$phase${site:+-$site}$( ((nboot > 1)) && echo "-boot$nboot").log"
	local mem
	mem=$(header "$name" "$mkey")
	qemu-system-x86_64 -machine q35 -accel tcg -cpu max -smp "${cpus:-1}" -m "${mem:-$mdef}" -nographic -no-reboot \
		-kernel "${vmlinux[$rel]}" -initrd "${initrd[$rel]}" \
		-append "console=ttyS0 ${tsc}panic=-1 loglevel=4 dcc.test=$name dcc.dir=$sdir dcc.phase=$phase dcc.disks=$disks $extra" \
		"${drives[@]}" "${netargs[@]}" >"$logf" 2>&1 </dev/null &
	local pid=$! waited=0
	while kill -0 "$pid" 2>/dev/null; do
		if grep -q '^DCC-KILL-ME' "$logf" 2>/dev/null; then
			kill -9 "$pid"
			echo "(powered off by the host)" >>"$logf"
			break
		fi
		if ((waited >= timeout * 5)); then
			kill -9 "$pid"
			echo "DCC-HOST-TIMEOUT after ${timeout}s" >>"$logf"
			break
		fi
		sleep 0.2
		waited=$((waited + 1))
	done
	wait "$pid" 2>/dev/null || true
}

# judge NAME WORKDIR PHASES SITES -> prints the reason for a failure, or nothing.
judge() {
	local name=$1 work=$2 phases=$3 sites=$4 p logf taint s hits
	for logf in "$work"/console-*.log; do
		# (set -e and pipefail: a grep that finds nothing must not end the run)
		hits=$(grep -naE "$KERNEL_PROBLEMS" "$logf" | head -n 3 || true)
		if [ -n "$hits" ]; then
			echo "kernel reported a problem in $(basename "$logf")"
			echo "$hits" | sed 's/^/    /'
			return
		fi
		grep -q 'DCC-SETUP-FAIL' "$logf" && { echo "guest setup failed in $(basename "$logf")"; return; }
		# A boot that ended by a power cut never printed its result: its
		# failed checks count all the same.
		grep -q 'DCC-CHECK FAIL' "$logf" &&
			{ echo "$(grep -c 'DCC-CHECK FAIL' "$logf") failed checks in $(basename "$logf" .log)"; return; }
		grep -q 'DCC-HOST-TIMEOUT' "$logf" && { echo "$(basename "$logf" .log) hung (host timeout)"; return; }
		taint=$(sed -n 's/^DCC-TAINT \([0-9]*\).*/\1/p' "$logf" | tail -n1)
		if [ -n "$taint" ] && ((taint & ~TAINT_ALLOWED)); then
			echo "kernel tainted ($taint) in $(basename "$logf")"
			return
		fi
	done
	if ((sites > 1)); then
		for s in $(site_names "$sites"); do
			logf=$(last_boot "$work" "$phases" "$s")
			grep -q "^DCC-RESULT $name 0" "$logf" ||
				{ echo "site $s failed ($(grep -c 'DCC-CHECK FAIL' "$logf") failed checks)"; return; }
		done
		return
	fi
	logf="$work/console-$phases.log"
	grep -q "^DCC-RESULT $name 0" "$logf" || echo "scenario failed ($(grep -c 'DCC-CHECK FAIL' "$logf") failed checks)"
}

site_names() { case $1 in 2) echo a b ;; 3) echo a b w ;; esac; }

# The console log of the last boot of SITE in PHASE.
last_boot() { ls "$1/console-$2-$3.log" "$1/console-$2-$3"-boot*.log 2>/dev/null | sort -V | tail -n1; }

# The last "ACK n" a console log shows, or -1.
acked_in() {
	local n
	n=$(grep -aoE '^ACK [0-9]+' "$1" | tail -n1 | cut -d' ' -f2 || true)
	echo "${n:--1}"
}

# site_loop REL NAME PHASE WORKDIR EXTRA SITE NET: boot one site of a pair (or of three),
# and again each time a boot asks to be powered off, at most 6 times.
site_loop() {
	local rel=$1 name=$2 phase=$3 work=$4 extra=$5 site=$6 net=$7 n=1 logf more=""
	while :; do
		boot "$rel" "$name" "$phase" "$work" "$extra$more" "$site" "$net" "$n"
		logf=$(last_boot "$work" "$phase" "$site")
		grep -q '^DCC-KILL-ME' "$logf" || return 0
		((n < 6)) || return 0
		more=" dcc.acked=$(acked_in "$logf")"
		n=$((n + 1))
	done
}

# A kernel oops with "Not tainted" came before dm-dcc was loaded (loading it
# taints), and so did a panic before the scenario began: the emulated
# machine crashed while booting (TCG races on live code patching, or its
# timer checks under load, show up that way), not the test.  Such a run is
# retried once, and says so.
emulator_crash() {
	local f
	grep -aqE '(Oops|BUG|general protection).*' "$1"/console-*.log &&
		grep -aqE '^\[ *[0-9.]+\] CPU: .* Not tainted' "$1"/console-*.log && return 0
	# A panic before the scenario began (IO-APIC checks fail under a busy TCG).
	for f in "$1"/console-*.log; do
		grep -aq 'Kernel panic' "$f" && ! grep -aq '^DCC-BEGIN' "$f" && return 0
	done
	return 1
}

# An RCU stall report that is the only thing wrong (no WARN, BUG or oops,
# no failed check, no hang, every boot ended with result 0, no dm-dcc
# function in any trace) says an emulated CPU did not run for 21 s: the
# host did not schedule QEMU (a loaded or paused machine), or the guest's
# clock jumped (a machine restored from a snapshot).  Prints the stall's
# "t=" and returns 0 for such a run.  A stall of the kernel's own (dm-dcc
# spinning with interrupts off) shows again in the retry and fails it.
host_stall() {
	local t f
	grep -aqE 'rcu: INFO: rcu_[a-z]+ (self-)?detected stalls?' "$1"/console-*.log || return 1
	grep -aqE 'WARNING: CPU|BUG:|Oops|general protection fault|Kernel panic|kernel BUG' \
		"$1"/console-*.log && return 1
	grep -aqE 'DCC-CHECK FAIL|DCC-HOST-TIMEOUT|DCC-SETUP-FAIL' "$1"/console-*.log && return 1
	# A trace through dm-dcc's own code is never the host's doing.
	grep -aq '\[dm_dcc\]' "$1"/console-*.log && return 1
	# Every boot ended as it should: a result of 0, or a power cut asked for.
	for f in "$1"/console-*.log; do
		grep -aqE '^DCC-RESULT [^ ]+ 0[[:space:]]*$|^DCC-KILL-ME' "$f" || return 1
	done
	t=$(grep -ahoE 't=[0-9]+ jiffies' "$1"/console-*.log | head -n1)
	echo "${t:-t=? jiffies}"
}

run_one() {
	local work="$VMOUT/run/$1/$2" why
	run_attempt "$@"
	if grep -q '^FAIL' "$work/verdict"; then
		why=""
		if emulator_crash "$work"; then
			why="the emulated kernel crashed before dm-dcc was loaded"
		elif why=$(host_stall "$work"); then
			why="an emulated CPU stalled ($why) with nothing else wrong: QEMU was not scheduled or the clock jumped"
		fi
		if [ -n "$why" ]; then
			rm -rf "$work.crashed" && mv "$work" "$work.crashed"
			echo "RETRY $1 $2: $why (logs: $work.crashed)"
			run_attempt "$@"
			# The verdict says so too, in the summary.
			sed -i '1s/$/ (retried once: the first run'"'"'s emulated machine failed, see RETRY)/' "$work/verdict"
		fi
	fi
	cat "$work/verdict"
}

run_attempt() {
	local rel=$1 name=$2 work phases sites extra="" p start reason s
	work="$VMOUT/run/$rel/$name"
	rm -rf "$work"
	mkdir -p "$work"
	sites=$(header "$name" sites)
	sites=${sites:-1}
	for d in $(header "$name" disks); do
		if ((sites > 1)); then
			for s in a b; do mkdir -p "$work/$s" && truncate -s "${d#*=}" "$work/$s/${d%%=*}.img"; done
		else
			truncate -s "${d#*=}" "$work/${d%%=*}.img"
		fi
	done
	if [ "$sites" = 3 ]; then
		for d in $(header "$name" disks-w); do mkdir -p "$work/w" && truncate -s "${d#*=}" "$work/w/${d%%=*}.img"; done
	fi
	phases=$(header "$name" boots)
	phases=${phases:-1}
	start=$(date +%s)
	for p in $(seq 1 "$phases"); do
		if [ "$sites" = 3 ]; then
			# Three links, a UDP pair of ports each (see boot).
			local base=${PORTS:-$((20000 + RANDOM % 20000))} pids=()
			for s in a b w; do
				site_loop "$rel" "$name" "$p" "$work" "$extra" "$s" "$base" &
				pids+=($!)
			done
			wait "${pids[@]}"
		elif [ "$sites" = 2 ]; then
			# A connectionless (UDP) link between the two, so that either
			# can be powered off and booted again while the other runs.
			local pa=${PORTS:-$((20000 + RANDOM % 20000))} pb
			pb=$((pa + 1))
			site_loop "$rel" "$name" "$p" "$work" "$extra" a "udp=127.0.0.1:$pb,localaddr=127.0.0.1:$pa" &
			local a=$!
			site_loop "$rel" "$name" "$p" "$work" "$extra" b "udp=127.0.0.1:$pa,localaddr=127.0.0.1:$pb" &
			wait $a $!
		else
			boot "$rel" "$name" "$p" "$work" "$extra"
			extra="dcc.acked=$(acked_in "$work/console-$p.log")"
		fi
	done
	reason=$(judge "$name" "$work" "$phases" "$sites")
	local secs=$(($(date +%s) - start))
	if [ -z "$reason" ]; then
		echo "PASS $rel $name (${secs}s)" >"$work/verdict"
	else
		{
			echo "FAIL $rel $name (${secs}s): $reason"
			grep -ahE 'DCC-CHECK FAIL|DCC-SUMMARY' "$work"/console-*.log | sed 's/^/    /' || true
			# What the first failed checks printed (a CI log may be all
			# there is of a run that failed once).
			grep -ahE -A40 'DCC-CHECK FAIL' "$work"/console-*.log | grep -avE '^DCC-CHECK FAIL' |
				head -n 60 | sed 's/^/    | /' || true
			echo "    log: $work"
		} >"$work/verdict"
	fi
	rm -f "$work"/*.img "$work"/*/*.img
	if ((show)); then
		for logf in "$work"/console-*.log; do
			sed -n '/DCC-BEGIN/,/^DCC-DMESG-BEGIN/p' "$logf" |
				grep -avE 'DCC-(BEGIN|DMESG-BEGIN)' || true
		done
	fi
}

start=$(date +%s)
queue=()
pairs=()
# multisite NAME: whether scenario NAME boots two or three VMs.
multisite() { case $(header "$1" sites) in 2 | 3) return 0 ;; *) return 1 ;; esac; }
# wanted REL NAME: whether scenario NAME runs on kernel REL.
wanted() {
	multisite "$2" || return 0
	((explicit_kernels)) || [ "$1" = "${selected[0]}" ] || [ "$(header "$2" kernels)" = all ]
}
for rel in "${selected[@]}"; do
	for s in "${scenarios[@]}"; do
		wanted "$rel" "$s" || continue
		if multisite "$s"; then pairs+=("$rel $s"); else queue+=("$rel $s"); fi
	done
done
running=0
for item in "${queue[@]}"; do
	{ run_one $item || true; } &
	running=$((running + 1))
	if ((running >= jobs)); then wait -n || true; running=$((running - 1)); fi
done
wait || true
# Scenarios of two sites boot two VMs of one vCPU each, and mostly wait for
# each other, the network and their timeouts: two such pairs run at once
# (--jobs), each on ports of its own.  Three sites, and the pairs marked
# "alone", run alone, first.
port_base=$((20000 + RANDOM % 120 * 100)) # below the ephemeral ports (32768 on)
alone() { [ "$(header "$1" sites)" = 3 ] || [ "$(header "$1" alone)" = yes ]; }
n=0
for item in "${pairs[@]}"; do
	alone "${item#* }" || continue
	PORTS=$((port_base + 10 * n)) run_one $item || true
	n=$((n + 1))
done
running=0
for item in "${pairs[@]}"; do
	alone "${item#* }" && continue
	# (|| true: in a function run in the background, set -e would end it
	# at the first command that fails, before its verdict)
	{ PORTS=$((port_base + 10 * n)) run_one $item || true; } &
	n=$((n + 1))
	running=$((running + 1))
	if ((running >= jobs)); then wait -n || true; running=$((running - 1)); fi
done
wait || true

passed=0 failed=0 failures=()
for rel in "${selected[@]}"; do
	for s in "${scenarios[@]}"; do
		wanted "$rel" "$s" || continue
		v="$VMOUT/run/$rel/$s/verdict"
		if [ -f "$v" ] && grep -q '^PASS' "$v"; then
			passed=$((passed + 1))
		else
			failed=$((failed + 1))
			failures+=("$(head -n 1 "$v" 2>/dev/null || echo "FAIL $rel $s: no verdict")")
		fi
	done
done
echo "VM suite: ${#selected[@]} kernel(s), $((passed + failed)) runs in $(($(date +%s) - start))s"
# Once more at the end, where a log's tail shows them.
for f in "${failures[@]}"; do echo "  $f"; done
echo "$passed passed, $failed failed"
((failed == 0))
