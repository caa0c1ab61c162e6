#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The demo, on Debian 12 as root: boots two sites (Debian's 6.1 kernel in
# two QEMU VMs joined by a network link), replicates a volume from A to an
# empty B, moves it to B while a writer runs at A, and checks at B every
# write A acknowledged (tests/vm/scenarios/demo.sh, step by step).
set -euo pipefail
cd "$(dirname "$0")/.."
source tests/vm/common.sh
[ "$(id -u)" = 0 ] || die "run as root: it installs Debian packages"
apt-get update -q >/dev/null
install_host_packages
exec tests/vm/run.sh --kernel 6.1 --show demo
