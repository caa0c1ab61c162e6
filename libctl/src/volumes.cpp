// SPDX-License-Identifier: GPL-2.0-only
#include "dcc/volumes.hpp"

#include <toml++/toml.h>

#include "dcc/error.hpp"

namespace dcc {

bool valid_volume_name(std::string_view name) {
    if (name.empty() || name.size() > 64 || name[0] == '.') return false;
    return name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") ==
           std::string_view::npos;
}

VolumeDecl parse_volume_decl(std::string_view text, const std::string& name, const std::string& origin) {
    auto fail = [&](const toml::source_region* at, const std::string& what) -> VolumeDecl {
        throw Error(kExitUsage, origin + (at ? ":" + std::to_string(at->begin.line) : "") + ": " + what);
    };
    if (!valid_volume_name(name))
        fail(nullptr, "'" + name + "' is no volume name (1-64 letters, digits, '-', '_', '.')");
    toml::table t;
    try {
        t = toml::parse(text, origin);
    } catch (const toml::parse_error& e) {
        return fail(&e.source(), std::string(e.description()));
    }
    VolumeDecl d;
    d.name = name;
    for (auto& [k, v] : t) {
        std::string key(k.str());
        if (key == "data" || key == "meta") {
            auto s = v.value<std::string>();
            if (!s || s->empty() || (*s)[0] != '/')
                fail(&v.source(), "'" + key + "' must be an absolute path to a block device");
            (key == "data" ? d.data : d.meta) = *s;
        } else if (key == "miss_timeout") {
            auto n = v.value<int64_t>();
            if (!v.is_integer() || !n || *n < 1 || *n > 86400)
                fail(&v.source(), "'miss_timeout' must be a number of seconds, 1 to 86400");
            d.miss_timeout = unsigned(*n);
        } else {
            fail(&v.source(), "unknown key '" + key + "' (data, meta, miss_timeout)");
        }
    }
    if (d.data.empty()) fail(nullptr, "'data' is missing");
    if (d.meta.empty()) fail(nullptr, "'meta' is missing");
    if (d.data == d.meta) fail(nullptr, "'data' and 'meta' are the same device");
    return d;
}

std::string volume_table(const VolumeDecl& d, const Superblock& sb) {
    std::string t = "0 " + std::to_string(sb.data_sectors) + " dcc " + d.data + " " + d.meta;
    if (d.miss_timeout) t += " 2 miss_timeout " + std::to_string(*d.miss_timeout);
    return t;
}

std::string volume_dm_uuid(const Superblock& sb) { return "DCC-" + format_uuid(sb.uuid); }

}  // namespace dcc
