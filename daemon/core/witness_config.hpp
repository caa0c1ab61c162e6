// SPDX-License-Identifier: GPL-2.0-only
// The witness's configuration file (TOML, dccd --witness), parsed and
// checked (no I/O).
#pragma once

#include <map>
#include <string>
#include <string_view>

namespace dcc {

struct WitnessConfig {
    std::string listen;            // e.g. tcp://0.0.0.0:7790
    bool insecure = false;         // no CURVE: for tests on a closed link only
    std::string secret_key;        // Z85, 40 characters
    std::string public_key;
    std::string state_dir = "/var/lib/dcc/witness";
    unsigned lease_ms = 5000;      // the lease a renewal grants
    // Site name -> the only key that site may present (Z85).  With
    // insecure, the keys are not used; the names, if any, are still the
    // only sites served.
    std::map<std::string, std::string> sites;
};

// Parse and check; throws dcc::Error(kExitUsage) naming @origin and the line.
WitnessConfig parse_witness_config(std::string_view text, const std::string& origin);

}  // namespace dcc
