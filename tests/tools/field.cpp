// SPDX-License-Identifier: GPL-2.0-only
// dcctest field VOL NAME...: fields of a volume's kernel status line by
// name (dcc/status.hpp), one per line, for the scenarios.
#include <cstdio>

#include "dcc/devices.hpp"
#include "dcc/status.hpp"
#include "tools.hpp"

namespace dcctest {

int field(const std::string& vol, const std::vector<std::string>& names) {
    std::string params = dcc::find_volume(vol).params;
    for (const std::string& n : names) {
        auto v = dcc::status_field(params, n);
        if (!v) {
            std::fprintf(stderr, "dcctest: no field '%s' in '%s'\n", n.c_str(), params.c_str());
            return 2;
        }
        std::printf("%s\n", v->c_str());
    }
    return 0;
}

}  // namespace dcctest
