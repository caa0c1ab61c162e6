// SPDX-License-Identifier: GPL-2.0-only
#include "dcc/status.hpp"

#include <sstream>

namespace dcc {

namespace {

bool to_u64(const std::string& s, uint64_t& out) {
    if (s.empty() || s.size() > 20) return false;
    uint64_t v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return false;
        uint64_t d = uint64_t(c - '0');
        if (v > (UINT64_MAX - d) / 10) return false;
        v = v * 10 + d;
    }
    out = v;
    return true;
}

}  // namespace

// <region sectors> <valid>/<regions> <dirty> <locked> <role> <generation>
// <mode> <registration|-> <misses> <timeouts>
std::optional<TargetStatus> parse_status(const std::string& params) {
    std::istringstream in(params);
    std::string f[10], extra;
    for (auto& s : f)
        if (!(in >> s)) return std::nullopt;
    if (in >> extra) return std::nullopt;

    TargetStatus st;
    auto slash = f[1].find('/');
    if (slash == std::string::npos) return std::nullopt;
    if (!to_u64(f[0], st.region_sectors) || !to_u64(f[1].substr(0, slash), st.valid) ||
        !to_u64(f[1].substr(slash + 1), st.regions) || !to_u64(f[2], st.dirty) ||
        !to_u64(f[3], st.locked) || !to_u64(f[5], st.generation) ||
        !to_u64(f[8], st.misses) || !to_u64(f[9], st.timeouts))
        return std::nullopt;
    if (f[4] != "owner" && f[4] != "replica" && f[4] != "yielding") return std::nullopt;
    if (f[6] != "rw" && f[6] != "ro" && f[6] != "fail") return std::nullopt;
    st.role = f[4];
    st.mode = f[6];
    if (f[7] != "-") {
        uint64_t reg;
        if (!to_u64(f[7], reg)) return std::nullopt;
        st.registration = reg;
    }
    return st;
}

}  // namespace dcc
