// SPDX-License-Identifier: GPL-2.0-only
#include "witness_record.hpp"

#include <cstdio>
#include <span>
#include <vector>

namespace dcc::core {

namespace {

constexpr std::string_view kMagic = "dcc-witness-record 2";
// Before the fence: no outdated= and epoch= lines.
constexpr std::string_view kMagic1 = "dcc-witness-record 1";

uint32_t checksum(std::string_view s) {
    return crc32({reinterpret_cast<const uint8_t*>(s.data()), s.size()});
}

// As the wire carries a site name.
bool site_name(std::string_view s) {
    if (s.empty() || s.size() > 64) return false;
    for (char c : s)
        if (c < 0x21 || c > 0x7e) return false;
    return true;
}

std::optional<uint64_t> decimal(std::string_view s) {
    if (s.empty() || s.size() > 20 || (s.size() > 1 && s[0] == '0')) return std::nullopt;
    uint64_t v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return std::nullopt;
        uint64_t d = uint64_t(c - '0');
        if (v > (UINT64_MAX - d) / 10) return std::nullopt;
        v = v * 10 + d;
    }
    return v;
}

}  // namespace

std::string format_witness_record(const Uuid& vol, const WitnessRecord& r) {
    std::string s(kMagic);
    s += "\nvolume=" + format_uuid(vol) + "\ngeneration=" + std::to_string(r.generation) +
         "\nowner=" + r.owner + "\nyield_generation=" + std::to_string(r.yield_generation) +
         "\nyield_to=" + r.yield_to + "\noutdated=" + (r.outdated ? "1" : "0") +
         "\nepoch=" + std::to_string(r.epoch) + "\n";
    char sum[32];
    std::snprintf(sum, sizeof(sum), "crc32=%08x\n", checksum(s));
    return s + sum;
}

std::optional<WitnessRecord> parse_witness_record(std::string_view text, const Uuid& vol,
                                                  std::string& why) {
    auto fail = [&](std::string w) -> std::optional<WitnessRecord> {
        why = std::move(w);
        return std::nullopt;
    };
    std::vector<std::string_view> lines;
    for (size_t pos = 0; pos < text.size();) {
        size_t nl = text.find('\n', pos);
        if (nl == std::string_view::npos) return fail("the last line is cut short");
        lines.push_back(text.substr(pos, nl - pos));
        pos = nl + 1;
    }
    if (lines.empty() || (lines[0] != kMagic && lines[0] != kMagic1))
        return fail("not a witness record of version 1 or 2 (first line '" +
                    std::string(lines.empty() ? "" : lines[0].substr(0, 40)) + "')");
    // Version 1 is version 2 without outdated= and epoch=: no fence.
    static const char* keys[] = {"volume",   "generation", "owner", "yield_generation", "yield_to",
                                 "outdated", "epoch",      "crc32"};
    const bool v1 = lines[0] == kMagic1;
    const size_t n = v1 ? 6 : 8;
    if (lines.size() != n + 1)
        return fail(std::to_string(n + 1) + " lines expected, found " + std::to_string(lines.size()));
    std::string_view v[8] = {{}, {}, {}, {}, {}, "0", "0", {}};
    for (size_t i = 0; i < n; i++) {
        size_t k = v1 && i == 5 ? 7 : i;
        std::string prefix = std::string(keys[k]) + "=";
        if (lines[i + 1].substr(0, prefix.size()) != prefix)
            return fail("line " + std::to_string(i + 2) + " is not '" + keys[k] + "='");
        v[k] = lines[i + 1].substr(prefix.size());
    }
    char sum[16];
    std::snprintf(sum, sizeof(sum), "%08x", checksum(text.substr(0, text.size() - lines.back().size() - 1)));
    if (v[7] != sum) return fail("bad checksum");
    if (v[0] != format_uuid(vol)) return fail("the record is of volume " + std::string(v[0]));
    WitnessRecord r;
    auto gen = decimal(v[1]), ygen = decimal(v[3]);
    if (!gen || !*gen) return fail("bad generation");
    r.generation = *gen;
    if (!site_name(v[2])) return fail("bad owner");
    r.owner = v[2];
    if (!ygen) return fail("bad yield_generation");
    r.yield_generation = *ygen;
    r.yield_to = v[4];
    if (r.yield_generation ? r.yield_generation != r.generation + 1 || !site_name(r.yield_to) ||
                                 r.yield_to == r.owner
                           : !r.yield_to.empty())
        return fail("bad yield_generation or yield_to");
    auto epoch = decimal(v[6]);
    if (v[5] != "0" && v[5] != "1") return fail("bad outdated");
    r.outdated = v[5] == "1";
    if (!epoch || (r.outdated && !*epoch)) return fail("bad epoch");
    r.epoch = *epoch;
    return r;
}

}  // namespace dcc::core
