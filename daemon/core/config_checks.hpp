// SPDX-License-Identifier: GPL-2.0-only
// What dccd's configuration files share (config.cpp, witness_config.cpp):
// errors that name the file and the line, and the checks of keys and
// endpoints, so that the site's and the witness's files say the same.
#pragma once

#include <string>
#include <toml++/toml.h>

#include "dcc/error.hpp"

namespace dcc::config_checks {

[[noreturn]] inline void bad(const std::string& origin, const toml::source_region& where,
                             const std::string& what) {
    throw Error(kExitUsage, origin + ":" + std::to_string(where.begin.line) + ": " + what);
}

inline bool z85_key(const std::string& k) {
    static const std::string alphabet =
        "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";
    if (k.size() != 40) return false;
    for (char c : k)
        if (alphabet.find(c) == std::string::npos) return false;
    return true;
}

inline bool endpoint(const std::string& e) {
    return e.rfind("tcp://", 0) == 0 && e.size() > 6 && e.find(':', 6) != std::string::npos;
}

// Whether endpoint @e (tcp://HOST:PORT) listens on loopback only.
inline bool loopback(const std::string& e) {
    std::string host = e.substr(6, e.rfind(':') - 6);
    return host.rfind("127.", 0) == 0 || host == "localhost" || host == "[::1]";
}

}  // namespace dcc::config_checks
