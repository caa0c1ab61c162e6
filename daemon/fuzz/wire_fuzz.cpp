// SPDX-License-Identifier: GPL-2.0-only
// libFuzzer target for the peer protocol decoder: every input either is
// refused with a reason or decodes to a message that encodes back to the
// same bytes.  The first input byte says how many data frames followed.
#include <cstdint>
#include <cstdlib>
#include <span>

#include "wire.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 1) return 0;
    size_t frames = data[0] % 3;
    std::span<const uint8_t> frame(data + 1, size - 1);
    dcc::wire::Decoded d = dcc::wire::decode(frame, frames);
    if (!d.msg) {
        if (d.error.empty()) abort();
        return 0;
    }
    std::vector<uint8_t> again = dcc::wire::encode(*d.msg);
    if (again.size() != frame.size() || !std::equal(again.begin(), again.end(), frame.begin()))
        abort();
    return 0;
}
