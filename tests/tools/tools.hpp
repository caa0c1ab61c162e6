// SPDX-License-Identifier: GPL-2.0-only
// dcctest's commands that live in files of their own.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace dcctest {

int rewrite(const std::string& dev, uint64_t seed, uint64_t blocks, uint64_t seconds);
int rewriteverify(const std::string& dev, uint64_t seed, uint64_t blocks, uint64_t count);
int field(const std::string& vol, const std::vector<std::string>& names);
int regionhash(const std::string& dev, uint64_t region_bytes);
int cleancheck(const std::string& log, const std::string& base, const std::string& replica,
               uint64_t data_sectors, uint64_t meta_offset);
int witness(const std::vector<std::string>& args);

}  // namespace dcctest
