// SPDX-License-Identifier: GPL-2.0-only
// The file that holds one volume's witness record (STATE_DIR/UUID.rec),
// as text (no I/O):
//
//   dcc-witness-record 2
//   volume=UUID
//   generation=G
//   owner=SITE
//   yield_generation=0 or G+1
//   yield_to=SITE or nothing
//   outdated=0 or 1              (1: G's replica is fenced)
//   epoch=N                      (the last OUTDATE granted; 1 or more if outdated)
//   crc32=XXXXXXXX               (of every byte above, lower-case hex)
//
// Parsed strictly: these lines in this order and nothing else, numbers
// in plain decimal, the checksum right, and a record the witness could
// have made.  A record that does not parse is never guessed at.  A record
// of version 1, written by a witness before the fence (the same without
// outdated= and epoch=), is read as one without a fence at epoch 0, so
// that a witness upgraded in place keeps its records; it is written back
// as version 2 the next time it changes.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "dcc/meta.hpp"
#include "witness.hpp"

namespace dcc::core {

std::string format_witness_record(const Uuid& vol, const WitnessRecord& r);

// The record of @vol, or nullopt with @why set.
std::optional<WitnessRecord> parse_witness_record(std::string_view text, const Uuid& vol,
                                                  std::string& why);

}  // namespace dcc::core
