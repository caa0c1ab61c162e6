// SPDX-License-Identifier: GPL-2.0-only
// The dm-dcc metadata format: superblock codec, layout and bitmaps.
// The format itself is defined in include/uapi/linux/dm-dcc.h.
#pragma once

#include <linux/dm-dcc.h>

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace dcc {

uint32_t crc32(std::span<const uint8_t> data, uint32_t crc = 0);

using Uuid = std::array<uint8_t, 16>;
std::optional<Uuid> parse_uuid(const std::string& text);
std::string format_uuid(const Uuid& u);

// DCC_ROLE_*: Yielding is an old owner that handed the volume over and has
// not yet learnt whether the other site took it (set by dccd only).
enum class Role : uint32_t { Owner = 1, Replica = 2, Yielding = 3 };
const char* role_name(Role r);
std::optional<Role> parse_role(const std::string& name);

// DCC_ORIGIN_*: how this site's current generation began.
enum class Origin : uint32_t { Handover = 0, Failover = 1, Forced = 2, Resolved = 3 };
const char* origin_name(Origin o);  // handover, failover, forced, resolved
std::optional<Origin> parse_origin(const std::string& name);

// DCC_SPLIT_*: whether this site recorded a split brain.  Old: it wrote
// while apart from a peer whose newer generation was forced, and serves no
// I/O until resolved.  New: it is the newer owner and serves on.
enum class Split : uint32_t { None = 0, Old = 1, New = 2 };
const char* split_name(Split s);  // none, old, new
std::optional<Split> parse_split(const std::string& name);

// The kernel's rule for these fields, raw as on disk or on netlink: origin
// and split in range, and with split old a split generation above
// @generation (or equal to it at a site yielding it: the newer owner took
// that generation by force), 0 otherwise.
bool split_state_valid(uint32_t role, uint32_t origin, uint32_t split, uint64_t split_generation,
                       uint64_t generation);

struct Superblock {
    uint32_t version = 1;
    uint32_t flags = 0;  // DCC_SB_F_*; an unknown one is refused
    Uuid uuid{};
    uint64_t data_sectors = 0;
    uint64_t nr_regions = 0;
    uint64_t generation = 1;
    uint32_t region_sectors = 0;
    Role role = Role::Owner;
    uint64_t valid_start = 0;
    uint64_t dirty_start = 0;
    uint64_t bitmap_blocks = 0;
    Origin origin = Origin::Handover;
    Split split = Split::None;
    uint64_t split_generation = 0;  // with Split::Old, the peer's generation

    // DCC_SB_F_LEASE: the owner serves only under its daemon's lease.
    bool lease() const { return flags & DCC_SB_F_LEASE; }
    // DCC_SB_F_SYNC: a write completes once the other site holds it.
    bool sync() const { return flags & DCC_SB_F_SYNC; }
    bool ahead() const { return flags & DCC_SB_F_AHEAD; }
};

constexpr uint32_t kMetaBlock = 4096;
constexpr uint32_t kSbSize = 512;

// The layout for a volume; throws Error(kExitUsage) on an impossible one.
Superblock make_layout(uint64_t data_bytes, uint32_t region_bytes, const Uuid& uuid,
                       Role role);

// Bytes the metadata device needs for this layout.
uint64_t meta_bytes_needed(const Superblock& sb);

// Parse "64k", "1m", "4096" into bytes; nullopt if malformed.
std::optional<uint64_t> parse_size(const std::string& text);

// Encode into a 4 KiB block (checksum included) / decode and check one.
std::vector<uint8_t> encode_superblock(const Superblock& sb);

enum class SbStatus { Ok, NotFormatted, BadChecksum, BadVersion, Inconsistent };
const char* sb_status_text(SbStatus s);
SbStatus decode_superblock(std::span<const uint8_t> block, Superblock& out);

// Region bitmaps in the on-disk layout: bit r is bit r%8 of byte r/8.
class Bitmap {
public:
    Bitmap() : Bitmap(0) {}
    explicit Bitmap(uint64_t nbits);
    Bitmap(uint64_t nbits, std::vector<uint8_t> bytes);
    uint64_t size() const { return nbits_; }
    bool test(uint64_t i) const { return (bytes_[i >> 3] >> (i & 7)) & 1; }
    void set(uint64_t i) { bytes_[i >> 3] |= uint8_t(1u << (i & 7)); }
    void clear(uint64_t i) { bytes_[i >> 3] &= uint8_t(~(1u << (i & 7))); }
    void set_all();
    uint64_t count() const;
    bool tail_clean(uint64_t padded_bits) const;
    const std::vector<uint8_t>& bytes() const { return bytes_; }
    // Bytes padded with zeros to a whole number of metadata blocks.
    std::vector<uint8_t> blocks(uint64_t nblocks) const;

private:
    uint64_t nbits_;
    std::vector<uint8_t> bytes_;
};

}  // namespace dcc
