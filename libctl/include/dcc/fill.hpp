// SPDX-License-Identifier: GPL-2.0-only
// Filling a volume's invalid regions from a local source: the miss path
// without a peer, and seeding a volume from an image.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

#include "dcc/nl.hpp"

namespace dcc {

struct FillOptions {
    std::string source;          // device or image file with the volume's content
    bool hydrate = false;        // also fill every invalid region in the background
    bool exit_when_done = false; // with hydrate: stop once every region is valid
    std::string pause_at;        // testing: SIGSTOP self at claimed|written|done
    bool verbose = false;
    std::function<void()> tick;  // called each round of the loop (a progress report)
};

struct FillStats {
    uint64_t misses_filled = 0;
    uint64_t regions_hydrated = 0;
    uint64_t stale_completions = 0;  // fills the kernel no longer wanted
    uint64_t errors = 0;
};

// Register for @vol and answer its misses until @stop is set (or, with
// exit_when_done, until the volume is fully valid).  Throws dcc::Error.
FillStats run_fill(nl::Dev vol, const FillOptions& opt, const std::atomic<bool>& stop);

}  // namespace dcc
