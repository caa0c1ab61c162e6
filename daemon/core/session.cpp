// SPDX-License-Identifier: GPL-2.0-only
#include "session.hpp"

#include <algorithm>

namespace dcc::core {

Incarnations::Hello Incarnations::hello(uint64_t peer) {
    if (peer_ && *peer_ == peer) return Hello::Same;
    if (std::find(retired_.begin(), retired_.end(), peer) != retired_.end()) return Hello::Retired;
    if (peer_) {
        retired_.push_back(*peer_);
        if (retired_.size() > 64) retired_.pop_front();
    }
    peer_ = peer;
    return Hello::New;
}

}  // namespace dcc::core
