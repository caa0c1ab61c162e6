// SPDX-License-Identifier: GPL-2.0-only
#include "dcc/error.hpp"

#include <cstring>

namespace dcc {

std::string errno_text(const std::string& what, int err) {
    return what + ": " + std::strerror(err);
}

}  // namespace dcc
