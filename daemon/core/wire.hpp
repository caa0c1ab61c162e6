// SPDX-License-Identifier: GPL-2.0-only
// The peer protocol's messages and their encoding (no I/O).
//
// A message is one ZeroMQ frame holding a fixed 88-byte header and a
// typed body, followed, for the types that carry region data, by a second
// frame holding exactly that data.  Everything is little-endian.
//
//   off  size  field
//     0     2  magic "DC"
//     2     1  protocol version
//     3     1  type
//     4     2  part: index of this part of a multi-part set
//     6     2  parts: parts in the set (1 for types that are not multi-part)
//     8    16  volume UUID (zero for link messages)
//    24     8  from: the sender's incarnation
//    32     8  to: the receiver's incarnation as the sender knows it (0 in
//              a HELLO from a site that knows none yet)
//    40     8  seq: request number, echoed by the reply
//    48     8  generation
//    56     8  region: the region of a volume message; W_UPTODATE the
//              epoch of the OUTDATE it lifts; W_ANSWER the record's fence
//              (the epoch of the OUTDATE that stands, else 0); 0 for the
//              other witness messages
//    64     8  arg: PUSH the sender's floor; HANDOVER and INVALID_SET the
//              regions in the whole set; PONG the promise's length in ms;
//              W_ANSWER a lease's length or what is left of it, in ms;
//              ATTACH_ACK of status 0 the sender's watermark (every
//              request it sends after has a larger seq); PROGRESS,
//              SYNC_WRITE and MODE as their types say; 0 for the others
//    72     4  count: ranges (or PONG's promises) in the body
//    76     4  status: 0, or a positive errno in a reply
//    80     4  body length
//    84     4  reserved, zero
//    88     -  body
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "dcc/meta.hpp"
#include "dcc/regions.hpp"

namespace dcc::wire {

constexpr uint16_t kMagic = 0x4344;  // "DC"
constexpr uint8_t kVersion = 10;
constexpr size_t kHeaderSize = 88;
constexpr size_t kMaxRanges = 4096;       // per message
constexpr size_t kMaxParts = 65535;       // per multi-part set
constexpr size_t kMaxSiteName = 64;
constexpr size_t kMaxPayload = 1u << 20;  // the largest region
constexpr size_t kMaxPromises = 4096;     // per PONG
// The largest frame a peer may send: a header with a full range list or a
// full list of promises.
constexpr size_t kMaxFrame = kHeaderSize + kMaxPromises * 24;

enum class Type : uint8_t {
    Hello = 1,        // link: body = site name
    HelloAck = 2,     // link: body = site name; status != 0 refuses
    Ping = 3,         // link: owner -> replica, asks for promises
    Pong = 4,         // link: the promises (volume, generation), arg = length
    Attach = 5,       // volume: body = geometry, role, origin, split, dirty; generation
    AttachAck = 6,    // the peer's side of the same
    InvalidSet = 7,   // replica -> owner: regions it lacks (ranges, multi-part)
    Fetch = 8,        // demand fetch of a region (control channel)
    FetchReply = 9,   // + data
    Push = 10,        // replication of a region (bulk channel), + data
    PushAck = 11,
    Pull = 12,        // background hydration of a region (bulk channel)
    PullReply = 13,   // + data
    Handover = 14,    // owner -> replica: new generation, the owner's dirty set
                      // (ranges, multi-part; region: the HANDOVER_ASK it answers)
    HandoverAck = 15,
    HandoverAsk = 16, // replica -> owner: please hand over to me
    Progress = 17,    // owner -> replica: region = regions not yet the same
                      // at both sites; arg = of them, those that may hold
                      // acknowledged writes the replica lacks (no reply)
    // A site and the witness (docs/protocol.md, "Leases and the witness").
    // Requests name the volume, the generation and the sender's site; the
    // witness answers each with W_ANSWER (same seq).
    WRenew = 18,      // the owner of generation renews its lease
    WClaim = 19,      // a replica claims generation (one above the record)
    WYield = 20,      // the owner of generation - 1 hands generation to `to`
    WAnswer = 21,     // status 0 granted, else refused; generation and site:
                      // the record; arg: lease length, or what is left of it;
                      // region: the record's fence epoch, or 0.  ESTALE to a
                      // W_CLAIM: refused, the record's replica is outdated
                      // (fenced) until its owner sends W_UPTODATE
    // Synchronous replication (docs/protocol.md, "Synchronous replication"):
    SyncWrite = 22,   // owner -> replica: one held write, + data; arg: its
                      // first sector; region: its region; seq: taken before
                      // its data was read, from the same count as PUSH's
    SyncAck = 23,     // status 0: the data is durable at the replica
    Mode = 24,        // owner -> replica: arg 1 sync, 0 async, for the
                      // replica to keep as its own (no reply)
    Detach = 25,      // either way: the sender dropped the volume (its
                      // device went away); no longer paired (no reply)
    // Going on alone in sync (docs/failover-design.md), answered by
    // W_ANSWER as the other witness requests:
    WOutdate = 26,    // the owner of generation goes on without its
                      // replica: fence it (a new epoch); region 0
    WUptodate = 27,   // the owner of generation: its replica holds what it
                      // wrote alone; region: the epoch of that OUTDATE
    // The sync path (docs/protocol.md, "The sync path"), link messages:
    SyncOpen = 28,    // owner's shipper -> replica: a key for a connection
    SyncOpenAck = 29, // + data: the key and its token (48 bytes); arg: the
                      // TCP port to connect to; status ENOTSUP: no sync path
};

// A replica's promise not to fail a volume over (PONG).
struct Promised {
    Uuid volume{};
    uint64_t generation = 0;
    bool operator==(const Promised&) const = default;
};

const char* type_name(Type t);

// Geometry and role a site reports for a volume.
struct VolumeInfo {
    uint32_t region_sectors = 0;
    uint64_t nr_regions = 0;
    uint8_t role = 0;    // enum dcc_role: owner, replica or yielding
    uint8_t origin = 0;  // enum dcc_origin: how the sender's generation began
    uint8_t split = 0;   // enum dcc_split: a split brain the sender recorded
    bool dirty = false;  // the sender may hold acknowledged writes the receiver lacks
    bool sync = false;   // the sender's replication mode is sync
    bool witness = false;  // the sender runs with a witness (as owner it serves under a lease)
    bool operator==(const VolumeInfo&) const = default;
};

struct Message {
    Type type = Type::Ping;
    uint16_t part = 0;
    uint16_t parts = 1;
    Uuid volume{};
    uint64_t from = 0;  // incarnations: the sender's,
    uint64_t to = 0;    // and the receiver's as the sender knows it
    uint64_t seq = 0;
    uint64_t generation = 0;
    uint64_t region = 0;
    uint64_t arg = 0;
    int32_t status = 0;
    std::string site;            // Hello, HelloAck, witness messages
    std::string to_site;         // WYield: the site the generation goes to
    VolumeInfo info;             // Attach, AttachAck
    std::vector<Range> ranges;   // InvalidSet, Handover
    std::vector<Promised> promises;  // Pong
    bool operator==(const Message&) const = default;
};

// Whether a type travels with a data frame.
bool has_payload(Type t);
// Whether a type may come in several parts.
bool is_multipart(Type t);
// Whether a type travels between a site and the witness.
bool is_witness(Type t);

std::vector<uint8_t> encode(const Message& m);

struct Decoded {
    std::optional<Message> msg;
    std::string error;  // why it was refused, for the log
};

// Decode a header frame; @payload_frames is how many frames followed it.
// Every field is checked: a message that decodes is well-formed.
Decoded decode(std::span<const uint8_t> frame, size_t payload_frames);

}  // namespace dcc::wire
