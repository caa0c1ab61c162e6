#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Benchmarks, run in the same QEMU VMs as the tests; prints tables of ratios
# measured in one run.  Usage: tests/bench.sh [--kernel 6.1|6.12] [hit-iops|sites|copy|sync|failover|scale ...]
#   hit-iops (one VM): hit-path IOPS of dcc against dm-linear;
#   sites (two VMs):   replication against raw TCP, handover time against
#                      volume size, 100 volumes against 1, miss latency
#                      against RTT plus region transfer time;
#   copy (two VMs):    the first copy of an empty replica taken apart:
#                      against raw TCP, without CURVE, with windows 8 and
#                      128, against the replica's O_DIRECT writes (without
#                      and with its flushes) and the owner's reads, with
#                      the replica's disk I/O and each dccd's CPU time;
#   sync (two VMs):    write latency in sync and async against dm-linear
#                      and DRBD 8.4 protocol C, and sync's cost against
#                      RTT plus a durable write;
#   failover (three VMs): from the owner's death to the first write served
#                      at the other site, in leases;
#   scale (two VMs):   a thousand volumes: kernel and dccd memory, pairing
#                      time, status time, migrate --all against one.
# Results and how they were taken: docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
kernel=6.1 benches=()
while (($#)); do
	case $1 in
	--kernel) kernel=$2; shift 2 ;;
	*) benches+=("$1"); shift ;;
	esac
done
((${#benches[@]})) || benches=(hit-iops sites copy sync failover scale)
mkdir -p build
for b in "${benches[@]}"; do rm -rf build/vm/run/*/"$b"; done
# The host's CPU time (busy, all, in ticks) and that of this script's
# children (run.sh, its builds and QEMUs), so that the run can say how much
# else the host ran meanwhile (the VMs share its cores with everything).
host_ticks() { awk '$1 == "cpu" {t = 0; for (i = 2; i <= NF; i++) t += $i; print t - $5 - $6, t}' /proc/stat; }
own_ticks() { awk '{print $16 + $17}' /proc/$$/stat; }
h0=$(host_ticks) o0=$(own_ticks)
rc=0
tests/vm/run.sh --bench --kernel "$kernel" "${benches[@]}" >build/bench.log 2>&1 || rc=$?
h1=$(host_ticks) o1=$(own_ticks)
# A part that failed still prints what it measured; a run that could not
# start (packages, build) says why.
if ((rc)) && ! grep -qE '^(PASS|FAIL)' build/bench.log; then
	tail -n 20 build/bench.log
	echo "tests/vm/run.sh failed (exit $rc): build/bench.log"
	exit 1
fi
grep -E '^(PASS|FAIL)' build/bench.log || true
echo "$h0 $h1 $o0 $o1" | awk -v hz="$(getconf CLK_TCK)" -v n="$(nproc)" '{
	printf "host CPU during the run: %.0f s of %.0f (%d cores), of which this run %.0f s, everything else %.0f s\n",
		($3 - $1) / hz, ($4 - $2) / hz, n, ($6 - $5) / hz, ($3 - $1 - $6 + $5) / hz }'
# The guests' clocksource (run.sh asks for the TSC with two vCPUs): with
# the emulated HPET every clock read costs ten times as much.
for b in "${benches[@]}"; do
	cs=$(for log in build/vm/run/*/"$b"/console-*.log; do
		[ -f "$log" ] || continue
		sed -n 's/.*clocksource: Switched to clocksource \([a-z_-]*\).*/\1/p' "$log" | tail -n 1
	done | sort | uniq -c | awk '{printf "%s%s in %d boots", (NR > 1 ? ", " : ""), $2, $1}')
	echo "$b: the guests' clocksource ${cs:-unknown}"
done
failed=0
ran() { [[ " ${benches[*]} " == *" $1 "* ]]; }
for log in build/vm/run/*/hit-iops/console-1.log; do
	ran hit-iops || break
	[ -f "$log" ] || continue
	echo
	echo "Hit path, 4 KiB, iodepth 16, O_DIRECT: IOPS of dcc against dm-linear ($(basename "$(dirname "$(dirname "$log")")"))"
	echo
	printf '| %-8s | %-9s | %10s | %10s | %9s |\n' device workload dm-linear dcc "dcc/linear"
	printf '|%s|%s|%s|%s|%s|\n' ---------- ----------- ------------ ------------ -----------
	grep -a '^BENCH ' "$log" | grep -v '^BENCH device' | while read -r _ dev rw l d r; do
		printf '| %-8s | %-9s | %10s | %10s | %9s |\n' "$dev" "$rw" "$l" "$d" "$r"
	done
	grep -aq '^DCC-RESULT hit-iops 0' "$log" || { echo "benchmark run failed: $log"; failed=1; }
done
for dir in build/vm/run/*/sites; do
	ran sites || break
	[ -d "$dir" ] || continue
	rel=$(basename "$(dirname "$dir")")
	b=$(cat "$dir"/console-1-a.log "$dir"/console-1-b.log | grep -a '^BENCH ' | tr -d '\r')
	val() { echo "$b" | grep "^BENCH $1 " | sed -n "s/.* $2=\([0-9.]*\).*/\1/p" | head -n1; }
	mbit=$(val tcp mbit)
	rsecs=$(val replication secs)
	echo
	echo "Two sites ($rel, two QEMU VMs, virtio-net over a host socket)"
	echo
	echo "| measure | dcc | reference | ratio |"
	echo "|---|---|---|---|"
	awk -v m="$mbit" -v s="$rsecs" 'BEGIN {
		r = 256 * 8 * 1.048576 / s;
		printf "| first copy of an empty 256 MiB replica (CURVE), Mbit/s | %.1f (%.1f s) | raw TCP (iperf3) %.0f | %.2f |\n", r, s, m, r / m }'
	for size in 1g 64g 16t; do
		echo "$b" | grep "^BENCH handover size=$size " | sed -n 's/.*ms=\([0-9]*\).*/\1/p' | sort -n >"build/ho-$size"
	done
	h1=$(awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}' build/ho-1g)
	h64=$(awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}' build/ho-64g)
	d1=$(echo "$b" | grep "^BENCH handover size=1g " | sed -n 's/.*dirty=\([0-9]*\).*/\1/p' | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}')
	d64=$(echo "$b" | grep "^BENCH handover size=64g " | sed -n 's/.*dirty=\([0-9]*\).*/\1/p' | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}')
	awk -v a="$h64" -v b="$h1" -v d1="$d1" -v d64="$d64" -v n="$(wc -l <build/ho-1g)" 'BEGIN {
		printf "| handover, 64 GiB volume (median of %d, ~%d regions dirty), ms | %d | 1 GiB volume (~%d dirty) %d ms | %.2f |\n", n, d64, a, d1, b, a / b }'
	h16=$(awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}' build/ho-16t)
	awk -v a="$h16" -v b="$h1" -v n="$(wc -l <build/ho-16t)" 'BEGIN {
		printf "| handover, 16 TiB volume (dm-zero data, 64 MiB of bitmaps; median of %d), ms | %d | 1 GiB volume %d ms | %.2f |\n", n, a, b, a / b }'
	c1=$(echo "$b" | grep -m1 "^BENCH bigvol size=1g " | sed -n 's/.*create_ms=\([0-9]*\).*/\1/p')
	c16=$(echo "$b" | grep -m1 "^BENCH bigvol size=16t " | sed -n 's/.*create_ms=\([0-9]*\).*/\1/p')
	awk -v a="$c16" -v b="$c1" 'BEGIN {
		printf "| table load (dmsetup create: metadata read), 16 TiB volume, ms | %d | 1 GiB volume %d ms | %.1f |\n", a, b, a / (b ? b : 1) }'
	awk -v h="$h1" -v p="$(val horth ping_ms)" -v d="$(val horth dccd_ms)" 'BEGIN {
		printf "| handover, 1 GiB volume, in round trips of the link (ping; dccd to dccd) | %d ms | ping %.2f ms; dccd %.2f ms | %.1f; %.1f |\n", h, p, d, p ? h / p : 0, d ? h / d : 0 }'
	rss=$(echo "$b" | grep -m1 "^BENCH bigvol dccd_rss" | sed -n 's/.*dccd_rss_kib=\([0-9]*\).*/\1/p')
	echo "| dccd's resident memory with the 1 GiB, 64 GiB and 16 TiB volumes paired, MiB | $((${rss:-0} / 1024)) | | |"
	# The round of the median ratio, and every round's ratio.
	echo "$b" | grep "^BENCH many " | sed -n 's/.*one_s=\([0-9.]*\) all_s=\([0-9.]*\).*/\1 \2/p' |
		awk '{o[NR] = $1; a[NR] = $2; r[NR] = $2 / $1} END {
			if (!NR) exit
			for (i = 1; i <= NR; i++) { k[i] = i; all = all sprintf("%s%.1f", i > 1 ? ", " : "", r[i]) }
			for (i = 1; i <= NR; i++) for (j = i + 1; j <= NR; j++) if (r[k[j]] < r[k[i]]) { t = k[i]; k[i] = k[j]; k[j] = t }
			m = k[int((NR + 1) / 2)]
			printf "| migrate 100 volumes at once (the median of %d rounds, alternating: %s), s | %.2f | 1 volume %.2f s | %.1f |\n", NR, all, a[m], o[m], r[m] }'
	# Each row against the reference measured with hydration idle at the
	# same delay: the network's and the disks' cost with nothing else on
	# them (pulls under way slow ping and the durable writes too).
	for d in 1 10; do
		idle=$(echo "$b" | grep "^BENCH miss delay_ms=$d hydration=idle ") || continue
		rtt=$(echo "$idle" | sed -n 's/.*rtt_ms=\([0-9.]*\).*/\1/p')
		dur=$(echo "$b" | grep "^BENCH durable delay_ms=$d hydration=idle ")
		dw=$(echo "$dur" | sed -n 's/.*data_ms=\([0-9.]*\).*/\1/p')
		mw=$(echo "$dur" | sed -n 's/.*meta_ms=\([0-9.]*\).*/\1/p')
		for h in idle running; do
			line=$(echo "$b" | grep "^BENCH miss delay_ms=$d hydration=$h ") || continue
			med=$(echo "$line" | sed -n 's/.*median_us=\([0-9]*\).*/\1/p')
			p90=$(echo "$line" | sed -n 's/.*p90_us=\([0-9]*\).*/\1/p')
			awk -v d="$d" -v h="$h" -v r="$rtt" -v m="$med" -v p="$p90" -v t="$mbit" 'BEGIN {
				x = 65536 * 8 / (t * 1e6) * 1000; ref = r + x;
				printf "| miss at the owner (4 KiB read, 64 KiB region), netem %d ms each way, hydration %s: median (p90), ms | %.1f (%.1f) | ping RTT %.1f + transfer %.1f = %.1f ms | %.1f |\n", d, h, m / 1000, p / 1000, r, x, ref, m / 1000 / ref }'
			awk -v d="$d" -v h="$h" -v r="$rtt" -v m="$med" -v p="$p90" -v t="$mbit" -v dw="${dw:-0}" -v mw="${mw:-0}" 'BEGIN {
				x = 65536 * 8 / (t * 1e6) * 1000; ref = r + x + dw + mw;
				printf "| the same miss against the network plus a durable local write of the region and of the metadata, netem %d ms, hydration %s (p90/median %.2f) | %.1f | %.1f + %.1f + %.1f + %.1f = %.1f ms | %.1f |\n", d, h, p / m, m / 1000, r, x, dw, mw, ref, m / 1000 / ref }'
		done
	done
	grep -aq '^DCC-RESULT sites 0' "$dir/console-1-a.log" && grep -aq '^DCC-RESULT sites 0' "$dir/console-1-b.log" ||
		{ echo "benchmark run failed: $dir"; failed=1; }
done
for dir in build/vm/run/*/copy; do
	ran copy || break
	[ -d "$dir" ] || continue
	rel=$(basename "$(dirname "$dir")")
	b=$(cat "$dir"/console-1-a.log "$dir"/console-1-b.log | grep -a '^BENCH ' | tr -d '\r')
	# f(line, key): a "key=value" field of a BENCH line
	echo "$b" >build/copy.bench
	echo
	echo "First copy of an empty 256 MiB replica, taken apart ($rel, two QEMU VMs, one run)"
	echo
	awk '
	function f(line, k,   i, n, kv, a) { n = split(line, a, " "); for (i = 3; i <= n; i++) { split(a[i], kv, "="); if (kv[1] == k) return kv[2] } return "" }
	$2 == "tcp" { tcp = f($0, "mbit") }
	$2 == "copy" { r = f($0, "row"); secs[r] = f($0, "secs"); mib = f($0, "mib") }
	$2 == "cpu" { cpu[f($0, "row"), f($0, "site")] = f($0, "s"); busy[f($0, "row"), f($0, "site")] = f($0, "vm_busy_pct") }
	$2 == "disk" { r = f($0, "row"); for (i = 3; i <= NF; i++) { split($i, kv, "="); d[r, kv[1]] = kv[2] } }
	$2 == "raw" { w = f($0, "what"); raw[w] = f($0, "kib_s") * 1024 * 8 / 1e6; if (w == "write-flush") n = f($0, "n") }
	END {
		nrows = split("curve-w32 insecure-w32 curve-w128 curve-w8 curve-w32-again curve-w32-slow", rows, " ")
		split("first copy, CURVE, window 32 (as sites)|first copy, no CURVE (insecure), window 32|first copy, CURVE, window 128|first copy, CURVE, window 8|first copy, CURVE, window 32, again (the spread)|first copy, CURVE, window 32, data devices 10 ms slower (dm-delay)", names, "|")
		printf "| measure | Mbit/s | against raw TCP |\n|---|---|---|\n"
		printf "| raw TCP, a to b (iperf3, 6 s) | %.0f | 1.00 |\n", tcp
		for (i = 1; i <= nrows; i++) {
			r = rows[i]
			if (secs[r] == "") { printf "| %s | (no result) | |\n", names[i]; continue }
			m[r] = mib * 8 * 1.048576 / secs[r]
			printf "| %s | %.1f (%.1f s) | %.2f |\n", names[i], m[r], secs[r], m[r] / tcp
		}
		printf "| b: O_DIRECT 64 KiB writes one after another (fio, QD1, 256 MiB) | %.1f | %.2f |\n", raw["write"], raw["write"] / tcp
		printf "| b: the same with an fdatasync every %d writes (as the first copy flushed) | %.1f | %.2f |\n", n, raw["write-flush"], raw["write-flush"] / tcp
		printf "| a: O_DIRECT 64 KiB reads one after another (fio, QD1, 256 MiB) | %.1f | %.2f |\n", raw["read"], raw["read"] / tcp
		printf "\nWhat each copy cost, from pairing to in sync: b'"'"'s data disk (/proc/diskstats: each FILL_DONE flushes it and commits the metadata, a write and a flush of the metadata disk; the time is the disk'"'"'s, summed over its requests), dccd'"'"'s CPU time at each site (/proc/PID/stat, all threads) and how busy each VM'"'"'s 2 vCPUs were (/proc/stat)\n\n"
		printf "| copy | s | data written, MiB (writes) | FILL_DONEs (data flushes) | regions a FILL_DONE | data disk, s: writes + flushes | metadata disk, s | dccd CPU, s: a, b | VM busy: a, b |\n|---|---|---|---|---|---|---|---|---|\n"
		for (i = 1; i <= nrows; i++) {
			r = rows[i]
			if (secs[r] == "") continue
			printf "| %s | %.1f | %.0f (%d) | %d | %.1f | %.1f + %.1f | %.1f | %.1f, %.1f | %d %%, %d %% |\n", r, secs[r], d[r, "dw_mib"], d[r, "dw"], d[r, "df"],
				d[r, "df"] ? mib * 16 / d[r, "df"] : 0, d[r, "dw_ms"] / 1000, d[r, "df_ms"] / 1000,
				(d[r, "mw_ms"] + d[r, "mf_ms"]) / 1000, cpu[r, "a"], cpu[r, "b"], busy[r, "a"], busy[r, "b"]
		}
		c1 = m["curve-w32"]; c2 = m["curve-w32-again"]; ins = m["insecure-w32"]; c = (c1 + c2) / 2
		lo = c1 < c2 ? c1 : c2; hi = c1 < c2 ? c2 : c1
		cc = (cpu["curve-w32", "a"] + cpu["curve-w32-again", "a"]) / 2; cb = (cpu["curve-w32", "b"] + cpu["curve-w32-again", "b"]) / 2
		printf "\nWhat it says (computed from the rows above):\n\n"
		printf "- The two CURVE copies at window 32 reached %.1f and %.1f Mbit/s (%.2f and %.2f of raw TCP), %.0f %% apart (the noise of this run).\n", c1, c2, c1 / tcp, c2 / tcp, 100 * (hi - lo) / c
		printf "- Without CURVE the copy ran at %.1f Mbit/s, %.2f times the CURVE mean (%.1f) and %.2f times the faster CURVE run, %s; dccd used %.1f s of CPU at a and %.1f at b, against %.1f and %.1f with CURVE (mean).\n", ins, ins / c, c, ins / hi,
			(ins > hi ? sprintf("so CURVE costs %.0f %% of the rate (the mean)", 100 * (1 - c / ins)) : "within the spread"), cpu["insecure-w32", "a"], cpu["insecure-w32", "b"], cc, cb
		w8 = m["curve-w8"]; w128 = m["curve-w128"]
		printf "- Window 8: %.1f Mbit/s (%s); window 128: %.1f (%s).\n", w8, (w8 < lo ? sprintf("%.2f of window 32'"'"'s mean, below both runs", w8 / c) : "within the spread of window 32"), w128, (w128 > hi ? sprintf("%.2f of window 32'"'"'s mean, above both runs", w128 / c) : "within the spread of window 32: a larger window does not help")
		sl = m["curve-w32-slow"]
		printf "- With both data devices 10 ms slower (dm-delay: a'"'"'s reads, b'"'"'s writes and flushes): %.1f Mbit/s, %.2f of window 32'"'"'s mean; one region read and written after another at that delay would take at least 10 ms a region at each site (%.1f Mbit/s at most).\n", sl, sl / c, 65536 * 8 / 0.010 / 1e6
		printf "- b'"'"'s data disk takes %.0f Mbit/s of O_DIRECT 64 KiB writes one after another (%.1f times raw TCP), %.0f with an fdatasync every %d; a reads its data disk at %.0f Mbit/s (%.1f times raw TCP). %s\n", raw["write"], raw["write"] / tcp, raw["write-flush"], n, raw["read"], raw["read"] / tcp,
			(raw["write-flush"] > tcp && raw["read"] > tcp ? "On an idle VM neither disk, used as the copy uses it, comes near the link." : "A disk, used as the copy uses it, is slower than the link there.")
		r = "curve-w32"
		dk = (d[r, "dw_ms"] + d[r, "df_ms"] + d[r, "mw_ms"] + d[r, "mf_ms"]) / 1000
		printf "- In the first CURVE copy (%.1f s), b'"'"'s disks were busy %.1f s in all (writes %.1f, data flushes %.1f, metadata %.1f), %.0f %% of the copy'"'"'s time, where fio wrote the same 256 MiB with its flushes in %.1f s: a data write took %.2f ms on average during the copy, against %.2f ms for fio'"'"'s (no flushes) on the idle VM; %d FILL_DONEs (one for %.1f regions) and %d FILL_BEGINs (one a region). a'"'"'s VM was %d %% busy and b'"'"'s %d %%.\n", secs[r], dk, d[r, "dw_ms"] / 1000, d[r, "df_ms"] / 1000, (d[r, "mw_ms"] + d[r, "mf_ms"]) / 1000, 100 * dk / secs[r], mib * 8 * 1.048576 / raw["write-flush"],
			d[r, "dw"] ? d[r, "dw_ms"] / d[r, "dw"] : 0, 65536 * 8 / (raw["write"] * 1e6) * 1000, d[r, "df"], d[r, "df"] ? mib * 16 / d[r, "df"] : 0, mib * 16, busy[r, "a"], busy[r, "b"]
	}' build/copy.bench
	echo "$b" | grep '^BENCH app ' | tail -n1 | awk '{ for (i = 3; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
		printf "\nThe application at the owner (4 KiB random reads and writes, 70/30, 4 in flight, 8 s): %d IOPS while the first copy ran, %d once in sync: %.2f\n", v["during"], v["idle"], v["idle"] ? v["during"] / v["idle"] : 0 }'
	tcp=$(echo "$b" | grep -m1 '^BENCH tcp ' | sed -n 's/.*mbit=\([0-9.]*\).*/\1/p')
	rs=$(echo "$b" | grep -m1 '^BENCH copy row=curve-w32 ' | sed -n 's/.*secs=\([0-9.]*\).*/\1/p')
	echo "$b" | grep '^BENCH drbd ' | tail -n1 | awk -v t="$tcp" -v rs="$rs" '{ for (i = 3; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
		d = v["mib"] * 8 * 1.048576 / v["secs"]; c = 256 * 8 * 1.048576 / rs
		printf "DRBD 8.4 full resync of %d MiB (protocol C, fixed resync rate 1 GiB/s): %.1f Mbit/s (%.1f s), %.2f of raw TCP; dcc first copy (CURVE, window 32) against it: %.2f\n", v["mib"], d, v["secs"], d / t, c / d }'
	grep -aq '^DCC-RESULT copy 0' "$dir/console-1-a.log" && grep -aq '^DCC-RESULT copy 0' "$dir/console-1-b.log" ||
		{ echo "benchmark run failed: $dir"; failed=1; }
done
for dir in build/vm/run/*/sync; do
	ran sync || break
	[ -d "$dir" ] || continue
	rel=$(basename "$(dirname "$dir")")
	b=$(cat "$dir"/console-1-a.log "$dir"/console-1-b.log | grep -a '^BENCH ' | tr -d '\r')
	rtt=$(echo "$b" | sed -n 's/^BENCH rtt ms=\([0-9.]*\).*/\1/p')
	dur=$(echo "$b" | sed -n 's/^BENCH durable4k us=\([0-9]*\).*/\1/p')
	drtt=$(echo "$b" | sed -n 's/^BENCH dccrtt ms=\([0-9.]*\).*/\1/p')
	drttmin=$(echo "$b" | sed -n 's/^BENCH dccrtt .*min_ms=\([0-9.]*\).*/\1/p')
	# the median of the rounds' values of FIELD for TARGET
	med() { echo "$b" | grep "^BENCH synclat .* target=$1 " | sed -n "s/.* $2=\([0-9]*\).*/\1/p" | sort -n |
		awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
	n=$(echo "$b" | grep -c "^BENCH synclat .* target=lin " || true)
	echo
	echo "Write latency, 4 KiB random writes, O_DIRECT ($rel, two QEMU VMs; median of $n rounds)"
	echo
	echo "| target | median, one in flight, us | p99, us | IOPS, 16 in flight | median against dm-linear | IOPS against dm-linear |"
	echo "|---|---|---|---|---|---|"
	l=$(med lin median_us)
	li=$(med lin iops16)
	for t in lin async sync drbd synchot drbdhot syncds drbdds syncnw syncnp; do
		awk -v t="$t" -v m="$(med $t median_us)" -v p="$(med $t p99_us)" -v i="$(med $t iops16)" -v l="$l" -v li="$li" 'BEGIN {
			name["lin"] = "dm-linear"; name["async"] = "dcc, async"; name["sync"] = "dcc, sync"
			name["drbd"] = "DRBD 8.4, protocol C"; name["synchot"] = "dcc, sync, a hot 4 MiB"
			name["drbdhot"] = "DRBD 8.4, protocol C, a hot 4 MiB"
			name["syncds"] = "dcc, sync, O_SYNC writes"; name["drbdds"] = "DRBD 8.4, protocol C, O_SYNC writes"
			name["syncnw"] = "dcc, sync, warm_regions 0 (a dirty-bit commit a write)"
			name["syncnp"] = "dcc, sync, no sync path (the control channel, through ZeroMQ)"
			printf "| %s | %d | %d | %d | %.2f | %.2f |\n", name[t], m, p, i, m / l, li ? i / li : 0 }'
	done
	awk -v s="$(med sync median_us)" -v a="$(med async median_us)" -v r="$rtt" -v d="$dur" 'BEGIN {
		ref = r * 1000 + d;
		printf "\nsync - async: %d us a write, against ping RTT %.0f us + a durable 4 KiB write at the peer %d us = %d us: %.2f\n", s - a, r * 1000, d, ref, (s - a) / ref }'
	awk -v s="$(med sync median_us)" -v d="$(med drbd median_us)" -v si="$(med sync iops16)" -v di="$(med drbd iops16)" 'BEGIN {
		printf "dcc sync against DRBD protocol C: median %.2f, IOPS at 16 in flight %.2f\n", s / d, si / di }'
	awk -v s="$(med synchot median_us)" -v d="$(med drbdhot median_us)" -v si="$(med synchot iops16)" -v di="$(med drbdhot iops16)" 'BEGIN {
		printf "the same over a hot 4 MiB: median %.2f, IOPS at 16 in flight %.2f\n", s / d, si / di }'
	awk -v s="$(med syncds median_us)" -v d="$(med drbdds median_us)" -v si="$(med syncds iops16)" -v di="$(med drbdds iops16)" 'BEGIN {
		printf "the same with O_SYNC writes (DRBD then flushes at both sites too): median %.2f, IOPS at 16 in flight %.2f\n", s / d, si / di }'
	awk -v s="$(med sync median_us)" -v n="$(med syncnw median_us)" -v si="$(med sync iops16)" -v ni="$(med syncnw iops16)" 'BEGIN {
		printf "dcc sync, warm regions kept (4096) against none kept (every write waits for a dirty-bit commit): median %.2f, IOPS at 16 in flight %.2f\n", s / n, si / ni }'
	awk -v s="$(med sync median_us)" -v n="$(med syncnp median_us)" -v si="$(med sync iops16)" -v ni="$(med syncnp iops16)" 'BEGIN {
		printf "dcc sync, on the sync path against the control channel (ZeroMQ): median %.2f, IOPS at 16 in flight %.2f\n", s / n, si / ni }'
	# The owner's metadata writes per data write while each dcc sync
	# target ran one write in flight (its dirty bits' commits), summed
	# over the rounds.
	for t in sync synchot syncds syncnw syncnp; do
		echo "$b" | grep "^BENCH synclat .* target=$t " | awk -v t="$t" '{ for (i = 3; i <= NF; i++) {
			split($i, kv, "="); v[kv[1]] += kv[2] } }
			END { printf "%s, one in flight: %d metadata writes at the owner for %d writes of fio: %.2f a write\n", t, v["meta_writes"],
				v["writes"], v["writes"] ? v["meta_writes"] / v["writes"] : 0 }'
	done
	awk -v r="$rtt" -v q="${drtt:-0}" -v m="${drttmin:-0}" 'BEGIN {
		printf "round trip dccd to dccd (status link_rtt_ms, smoothed) %.2f ms against ping %.2f ms: %.2f; least %.2f ms: %.2f\n", q, r, q / r, m, m / r }'
	echo "$b" | grep '^BENCH syncclear ' | tail -n1 | awk '{ for (i = 3; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
		printf "the sync volume'"'"'s regions written by the rounds: %d cleared as confirmed by the peer, %d pushed\n", v["confirmed"], v["pushed"] }'
	echo "$b" | grep '^BENCH handover ' | tail -n1 | awk '{ for (i = 3; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
		printf "\nHandover to the other site and its first 4 KiB write there: dcc (dccctl migrate) %d ms, DRBD 8.4 (demote, promote) %d ms: %.2f\n", v["dcc_ms"], v["drbd_ms"], v["dcc_ms"] / v["drbd_ms"] }'
	grep -aq '^DCC-RESULT sync 0' "$dir/console-1-a.log" && grep -aq '^DCC-RESULT sync 0' "$dir/console-1-b.log" ||
		{ echo "benchmark run failed: $dir"; failed=1; }
done
for dir in build/vm/run/*/failover; do
	ran failover || break
	[ -d "$dir" ] || continue
	rel=$(basename "$(dirname "$dir")")
	line=$(grep -ah '^BENCH failover ' "$dir"/console-*-b.log | tr -d '\r' | tail -n1)
	echo
	echo "Failover with a witness, sync: from the owner's death (power cut) to the first write served at the other site ($rel, three QEMU VMs)"
	echo
	echo "| step | ms after the owner's death | in leases |"
	echo "|---|---|---|"
	echo "$line" | awk '{ for (i = 3; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
		l = v["lease_ms"]
		printf "| the replica sees the link down | %d | %.2f |\n", v["link_down_ms"], v["link_down_ms"] / l
		printf "| the witness grants the failover | %d | %.2f |\n", v["granted_ms"], v["granted_ms"] / l
		printf "| the first write completes there | %d | %.2f |\n", v["first_write_ms"], v["first_write_ms"] / l
		printf "\nlease_ms = %d\n", l }'
	grep -aq '^DCC-RESULT failover 0' "$dir/console-1-b.log" && grep -aq '^DCC-RESULT failover 0' "$dir/console-1-w.log" ||
		{ echo "benchmark run failed: $dir"; failed=1; }
done
for dir in build/vm/run/*/scale; do
	ran scale || break
	[ -d "$dir" ] || continue
	rel=$(basename "$(dirname "$dir")")
	b=$(cat "$dir"/console-1-a.log "$dir"/console-1-b.log | grep -a '^BENCH scale ' | tr -d '\r')
	echo
	echo "A thousand volumes, 1 MiB each, paired between two sites ($rel, two QEMU VMs; each site's figures)"
	echo
	echo "| measure | a | b |"
	echo "|---|---|---|"
	echo "$b" | awk '{ s = ""; for (i = 3; i <= NF; i++) { split($i, kv, "="); if (kv[1] == "site") s = kv[2]; else v[s, kv[1]] = kv[2]; if (kv[1] == "n") n = kv[2] } }
		END {
			printf "| %d dcc tables loaded (one dmsetup), ms | %d | %d |\n", n, v["a", "create_ms"], v["b", "create_ms"]
			printf "| kernel memory they took (MemAvailable before and after), MiB | %.1f | %.1f |\n", v["a", "kernel_kib"] / 1024, v["b", "kernel_kib"] / 1024
			printf "| dccd: from its start to every volume paired, s | %s | %s |\n", v["a", "pair_s"], v["b", "pair_s"]
			printf "| dccd resident memory, MiB | %.1f | %.1f |\n", v["a", "dccd_rss_kib"] / 1024, v["b", "dccd_rss_kib"] / 1024
			printf "| dccd open descriptors, threads | %d, %d | %d, %d |\n", v["a", "fds"], v["a", "threads"], v["b", "fds"], v["b", "threads"]
			printf "| dccctl status --json, all volumes, ms (median of 5) | %d | %d |\n", v["a", "status_all_ms"], v["b", "status_all_ms"]
			printf "| dccctl status --json of one volume, ms (median of 5) | %d | %d |\n", v["a", "status_one_ms"], v["b", "status_one_ms"]
			printf "| dccd CPU while all are paired and idle (20 s), CPUs | %s | %s |\n", v["a", "idle_cpu"], v["b", "idle_cpu"]
		}'
	echo "$b" | grep ' migrate_one_s=' | tail -n1 | awk '{ for (i = 3; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
		printf "\nmigrate --all of %d volumes (one region dirty each; one of them moved before) in %.1f s, against one volume in %.2f s: %.1f\n", v["moved"], v["migrate_all_s"], v["migrate_one_s"], v["migrate_all_s"] / v["migrate_one_s"] }'
	grep -aq '^DCC-RESULT scale 0' "$dir/console-1-a.log" && grep -aq '^DCC-RESULT scale 0' "$dir/console-1-b.log" ||
		{ echo "benchmark run failed: $dir"; failed=1; }
done
exit $failed
