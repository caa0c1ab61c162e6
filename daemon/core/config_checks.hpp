// SPDX-License-Identifier: GPL-2.0-only
// What dccd's configuration files share (config.cpp, witness_config.cpp):
// errors that name the file and the line, and the checks of keys and
// endpoints, so that the site's and the witness's files say the same.
#pragma once

#include <initializer_list>
#include <set>
#include <string>
#include <string_view>
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

// A parsed file whose keys are all known, and typed reads of them; every
// error names the file (and the line, where there is one).
class Toml {
public:
    Toml(std::string_view text, std::string origin, std::initializer_list<const char*> known)
        : origin_(std::move(origin)) {
        try {
            t_ = toml::parse(text, origin_);
        } catch (const toml::parse_error& e) {
            bad(origin_, e.source(), std::string(e.description()));
        }
        std::set<std::string> keys(known.begin(), known.end());
        for (auto&& [k, v] : t_)
            if (!keys.count(std::string(k.str())))
                bad(origin_, v.source(), "unknown key '" + std::string(k.str()) + "'");
    }

    const toml::node* get(const char* key) const { return t_.get(key); }
    [[noreturn]] void bad_at(const char* key, const std::string& what) const {
        bad(origin_, t_.get(key)->source(), what);
    }
    [[noreturn]] void bad_file(const std::string& what) const { throw Error(kExitUsage, origin_ + ": " + what); }

    // A string into @out; absent: unchanged, or an error if @required.
    void str(const char* key, std::string& out, bool required) const {
        const toml::node* n = t_.get(key);
        if (!n) {
            if (required) bad_file(std::string("missing key '") + key + "'");
            return;
        }
        if (!n->is_string()) bad(origin_, n->source(), std::string("'") + key + "' must be a string");
        out = n->value<std::string>().value();
    }
    // An integer from @lo to @hi into @out; absent: unchanged.
    void num(const char* key, unsigned& out, unsigned lo, unsigned hi) const {
        const toml::node* n = t_.get(key);
        if (!n) return;
        auto v = n->value<int64_t>();
        if (!n->is_integer() || !v || *v < lo || *v > hi)
            bad(origin_, n->source(), std::string("'") + key + "' must be an integer from " +
                                          std::to_string(lo) + " to " + std::to_string(hi));
        out = unsigned(*v);
    }
    // A boolean; absent: false.
    bool flag(const char* key) const {
        const toml::node* n = t_.get(key);
        if (!n) return false;
        if (!n->is_boolean()) bad(origin_, n->source(), std::string("'") + key + "' must be true or false");
        return n->value<bool>().value();
    }

private:
    std::string origin_;
    toml::table t_;
};

}  // namespace dcc::config_checks
