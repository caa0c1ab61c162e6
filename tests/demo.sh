#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The demo, on Debian 12 as root: boots Debian's 6.1 kernel in QEMU with
# the dm-dcc module and shows a volume used at once while its data is
# fetched on first touch and pulled in the background
# (tests/vm/scenarios/demo.sh says what it does, step by step).
set -euo pipefail
cd "$(dirname "$0")/.."
source tests/vm/common.sh
[ "$(id -u)" = 0 ] || die "run as root: it installs Debian packages"
apt-get update -q >/dev/null
install_host_packages
exec tests/vm/run.sh --kernel 6.1 --show demo
