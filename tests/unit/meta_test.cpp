// SPDX-License-Identifier: GPL-2.0-only
#include <gtest/gtest.h>
#include <linux/dm-dcc.h>

#include <cstring>

#include "dcc/error.hpp"
#include "dcc/meta.hpp"

using namespace dcc;

namespace {

Uuid test_uuid() { return *parse_uuid("0123456789abcdef0123456789abcdef"); }

// Checksum a hand-edited superblock block, as the kernel does.
void put_csum(std::vector<uint8_t>& b) {
    uint32_t c = crc32({b.data() + 4, kSbSize - 4});
    std::memcpy(b.data(), &c, 4);
}

}  // namespace

TEST(Crc32, MatchesTheStandardCheckValue) {
    const char* s = "123456789";
    EXPECT_EQ(crc32({reinterpret_cast<const uint8_t*>(s), 9}), 0xCBF43926u);
    EXPECT_EQ(crc32({}), 0u);
}

TEST(Uuid, ParsesBothFormsAndRejectsJunk) {
    auto a = parse_uuid("01234567-89ab-cdef-0123-456789abcdef");
    auto b = parse_uuid("0123456789ABCDEF0123456789ABCDEF");
    ASSERT_TRUE(a && b);
    EXPECT_EQ(*a, *b);
    EXPECT_EQ(format_uuid(*a), "01234567-89ab-cdef-0123-456789abcdef");
    for (const char* bad : {"", "0123", "0123456789abcdef0123456789abcdeg",
                            "0123456789abcdef0123456789abcdef0", "01234567-89ab-cdef-0123-456789abcde-",
                            "0-123456789abcdef0123456789abcdef"})
        EXPECT_FALSE(parse_uuid(bad)) << bad;
}

TEST(Size, ParsesSuffixes) {
    EXPECT_EQ(parse_size("64k"), 65536u);
    EXPECT_EQ(parse_size("1m"), 1048576u);
    EXPECT_EQ(parse_size("4096"), 4096u);
    EXPECT_EQ(parse_size("8s"), 4096u);
    EXPECT_EQ(parse_size("2T"), 2ull << 40);
    for (const char* bad : {"", "k", "64q", "-1", "99999999999999999999", "18014398509481984k"})
        EXPECT_FALSE(parse_size(bad)) << bad;
}

TEST(Layout, ComputesRegionsAndBitmaps) {
    Superblock sb = make_layout(1ull << 30, 65536, test_uuid(), Role::Owner);
    EXPECT_EQ(sb.data_sectors, 2097152u);
    EXPECT_EQ(sb.region_sectors, 128u);
    EXPECT_EQ(sb.nr_regions, 16384u);
    EXPECT_EQ(sb.bitmap_blocks, 1u);
    EXPECT_EQ(sb.valid_start, 1u);
    EXPECT_EQ(sb.dirty_start, 2u);
    EXPECT_EQ(meta_bytes_needed(sb), 3u * 4096);
}

TEST(Layout, ShortLastRegionAndHugeVolumesUse64BitArithmetic) {
    Superblock sb = make_layout(65536 * 3 + 512, 65536, test_uuid(), Role::Owner);
    EXPECT_EQ(sb.nr_regions, 4u);
    // 64 TiB in 4 KiB regions: 2^34 regions, beyond 32 bits.
    Superblock big = make_layout(64ull << 40, 4096, test_uuid(), Role::Replica);
    EXPECT_EQ(big.nr_regions, 1ull << 34);
    EXPECT_EQ(big.bitmap_blocks, (1ull << 34) / (4096 * 8));
    EXPECT_EQ(big.dirty_start, 1 + big.bitmap_blocks);
}

TEST(Layout, RefusesBadRegionSizesAndDataSizes) {
    for (uint32_t r : {0u, 2048u, 3u * 4096, 2u << 20, 65537u})
        EXPECT_THROW(make_layout(1 << 30, r, test_uuid(), Role::Owner), Error) << r;
    EXPECT_THROW(make_layout(0, 65536, test_uuid(), Role::Owner), Error);
    EXPECT_THROW(make_layout(1000, 65536, test_uuid(), Role::Owner), Error);
}

TEST(Superblock, RoundTrips) {
    Superblock sb = make_layout(5ull << 40, 1 << 20, test_uuid(), Role::Replica);
    sb.generation = 42;
    auto block = encode_superblock(sb);
    ASSERT_EQ(block.size(), kMetaBlock);
    // Only the first sector is used, so the superblock is written atomically.
    for (size_t i = kSbSize; i < block.size(); i++) ASSERT_EQ(block[i], 0) << i;
    Superblock out;
    ASSERT_EQ(decode_superblock(block, out), SbStatus::Ok);
    EXPECT_EQ(out.uuid, sb.uuid);
    EXPECT_EQ(out.generation, 42u);
    EXPECT_EQ(out.role, Role::Replica);
    EXPECT_EQ(out.nr_regions, sb.nr_regions);
    EXPECT_EQ(out.region_sectors, 2048u);
}

TEST(Superblock, YieldingRoundTrips) {
    Superblock sb = make_layout(1 << 30, 65536, test_uuid(), Role::Owner);
    sb.role = Role::Yielding;
    sb.generation = 5;
    Superblock out;
    ASSERT_EQ(decode_superblock(encode_superblock(sb), out), SbStatus::Ok);
    EXPECT_EQ(out.role, Role::Yielding);
    EXPECT_EQ(uint32_t(out.role), uint32_t(DCC_ROLE_YIELDING));
    EXPECT_STREQ(role_name(out.role), "yielding");
    sb.role = Role(4);
    EXPECT_EQ(decode_superblock(encode_superblock(sb), out), SbStatus::Inconsistent);
    sb.role = Role(0);
    EXPECT_EQ(decode_superblock(encode_superblock(sb), out), SbStatus::Inconsistent);
}

TEST(Superblock, OriginAndSplitRoundTrip) {
    Superblock sb = make_layout(1 << 30, 65536, test_uuid(), Role::Owner);
    sb.generation = 7;
    Superblock out;
    ASSERT_EQ(decode_superblock(encode_superblock(sb), out), SbStatus::Ok);
    EXPECT_EQ(out.origin, Origin::Handover) << "a fresh layout";
    EXPECT_EQ(out.split, Split::None);
    EXPECT_EQ(out.split_generation, 0u);

    sb.origin = Origin::Forced;
    sb.split = Split::Old;
    sb.split_generation = 8;
    ASSERT_EQ(decode_superblock(encode_superblock(sb), out), SbStatus::Ok);
    EXPECT_EQ(out.origin, Origin::Forced);
    EXPECT_EQ(out.split, Split::Old);
    EXPECT_EQ(out.split_generation, 8u);

    sb.origin = Origin::Failover;
    sb.split = Split::New;
    sb.split_generation = 0;
    ASSERT_EQ(decode_superblock(encode_superblock(sb), out), SbStatus::Ok);
    EXPECT_EQ(out.origin, Origin::Failover);
    EXPECT_EQ(out.split, Split::New);
}

TEST(Superblock, OlderSuperblocksReadAsHandoverWithNoSplit) {
    // Written before origin and split existed: zeros where they are now.
    Superblock sb = make_layout(1 << 30, 65536, test_uuid(), Role::Replica);
    sb.origin = Origin::Forced;  // whatever is here must not survive the zeroing
    sb.split = Split::New;
    auto b = encode_superblock(sb);
    std::memset(&b[88], 0, kSbSize - 88);
    put_csum(b);
    Superblock out;
    ASSERT_EQ(decode_superblock(b, out), SbStatus::Ok);
    EXPECT_EQ(out.origin, Origin::Handover);
    EXPECT_EQ(out.split, Split::None);
    EXPECT_EQ(out.split_generation, 0u);
}

TEST(Superblock, NamesOfOriginsAndSplits) {
    for (Origin o : {Origin::Handover, Origin::Failover, Origin::Forced, Origin::Resolved})
        EXPECT_EQ(parse_origin(origin_name(o)), o);
    EXPECT_STREQ(origin_name(Origin::Resolved), "resolved");
    for (Split s : {Split::None, Split::Old, Split::New}) EXPECT_EQ(parse_split(split_name(s)), s);
    EXPECT_STREQ(origin_name(Origin::Forced), "forced");
    EXPECT_STREQ(split_name(Split::None), "none");
    for (const char* bad : {"", "Forced", "force", "-", "0", "handover "})
        EXPECT_FALSE(parse_origin(bad)) << bad;
    for (const char* bad : {"", "-", "Old", "older", "1"}) EXPECT_FALSE(parse_split(bad)) << bad;
}

TEST(Superblock, SplitStateRule) {
    EXPECT_TRUE(split_state_valid(DCC_ROLE_OWNER, DCC_ORIGIN_HANDOVER, DCC_SPLIT_NONE, 0, 5));
    EXPECT_TRUE(split_state_valid(DCC_ROLE_OWNER, DCC_ORIGIN_FORCED, DCC_SPLIT_NEW, 0, 5));
    EXPECT_TRUE(split_state_valid(DCC_ROLE_OWNER, DCC_ORIGIN_FAILOVER, DCC_SPLIT_OLD, 6, 5));
    EXPECT_TRUE(split_state_valid(DCC_ROLE_OWNER, DCC_ORIGIN_FAILOVER, DCC_SPLIT_OLD, UINT64_MAX, 5));
    EXPECT_FALSE(split_state_valid(DCC_ROLE_OWNER, 4, DCC_SPLIT_NONE, 0, 5));
    // The newer owner took by force the generation this site was yielding.
    EXPECT_TRUE(split_state_valid(DCC_ROLE_YIELDING, DCC_ORIGIN_HANDOVER, DCC_SPLIT_OLD, 5, 5));
    EXPECT_FALSE(split_state_valid(DCC_ROLE_OWNER, DCC_ORIGIN_HANDOVER, DCC_SPLIT_OLD, 5, 5));
    EXPECT_FALSE(split_state_valid(DCC_ROLE_YIELDING, DCC_ORIGIN_HANDOVER, DCC_SPLIT_OLD, 4, 5));
    EXPECT_FALSE(split_state_valid(DCC_ROLE_OWNER, DCC_ORIGIN_HANDOVER, 3, 0, 5));
    EXPECT_FALSE(split_state_valid(DCC_ROLE_OWNER, DCC_ORIGIN_HANDOVER, DCC_SPLIT_OLD, 5, 5));
    EXPECT_FALSE(split_state_valid(DCC_ROLE_OWNER, DCC_ORIGIN_HANDOVER, DCC_SPLIT_OLD, 0, 5));
    EXPECT_FALSE(split_state_valid(DCC_ROLE_OWNER, DCC_ORIGIN_HANDOVER, DCC_SPLIT_OLD, 0, UINT64_MAX));
    EXPECT_FALSE(split_state_valid(DCC_ROLE_OWNER, DCC_ORIGIN_HANDOVER, DCC_SPLIT_NEW, 6, 5));
    EXPECT_FALSE(split_state_valid(DCC_ROLE_OWNER, DCC_ORIGIN_HANDOVER, DCC_SPLIT_NONE, 1, 5));
}

TEST(Superblock, LayoutMatchesTheKernelStruct) {
    Superblock sb = make_layout(1 << 30, 65536, test_uuid(), Role::Owner);
    sb.generation = 0x1122334455667788ull;
    auto b = encode_superblock(sb);
    auto le64 = [&](size_t off) {
        uint64_t v;
        std::memcpy(&v, &b[off], 8);
        return v;
    };
    uint32_t magic;
    std::memcpy(&magic, &b[offsetof(dcc_disk_sb, magic)], 4);
    EXPECT_EQ(magic, DCC_SB_MAGIC);
    EXPECT_EQ(le64(offsetof(dcc_disk_sb, generation)), sb.generation);
    EXPECT_EQ(le64(offsetof(dcc_disk_sb, nr_regions)), 16384u);
    EXPECT_EQ(0, std::memcmp(&b[offsetof(dcc_disk_sb, uuid)], sb.uuid.data(), 16));

    // Origin and split follow bitmap_blocks, in the old padding.
    EXPECT_EQ(offsetof(dcc_disk_sb, origin), 88u);
    EXPECT_EQ(offsetof(dcc_disk_sb, split), 92u);
    EXPECT_EQ(offsetof(dcc_disk_sb, split_generation), 96u);
    EXPECT_EQ(offsetof(dcc_disk_sb, pad), 104u);
    sb.origin = Origin::Failover;
    sb.split = Split::Old;
    sb.split_generation = 0x1122334455667789ull;
    b = encode_superblock(sb);
    uint32_t origin, split;
    std::memcpy(&origin, &b[offsetof(dcc_disk_sb, origin)], 4);
    std::memcpy(&split, &b[offsetof(dcc_disk_sb, split)], 4);
    EXPECT_EQ(origin, uint32_t(DCC_ORIGIN_FAILOVER));
    EXPECT_EQ(split, uint32_t(DCC_SPLIT_OLD));
    EXPECT_EQ(le64(offsetof(dcc_disk_sb, split_generation)), sb.split_generation);
}

TEST(Superblock, LeaseFlag) {
    Superblock sb = make_layout(1 << 30, 65536, test_uuid(), Role::Owner);
    Superblock out;
    ASSERT_EQ(decode_superblock(encode_superblock(sb), out), SbStatus::Ok);
    EXPECT_FALSE(out.lease()) << "a fresh layout needs no lease";
    sb.flags = DCC_SB_F_LEASE;
    auto b = encode_superblock(sb);
    uint32_t flags;
    std::memcpy(&flags, &b[offsetof(dcc_disk_sb, flags)], 4);
    EXPECT_EQ(flags, 1u) << "bit 0 of the flags word";
    ASSERT_EQ(decode_superblock(b, out), SbStatus::Ok);
    EXPECT_TRUE(out.lease());
    EXPECT_EQ(out.flags, uint32_t(DCC_SB_F_LEASE));
}

TEST(Superblock, DetectsEveryKindOfDamage) {
    Superblock sb = make_layout(1 << 30, 65536, test_uuid(), Role::Owner);
    Superblock out;
    std::vector<uint8_t> zero(kMetaBlock, 0);
    EXPECT_EQ(decode_superblock(zero, out), SbStatus::NotFormatted);

    auto flip = encode_superblock(sb);
    flip[offsetof(dcc_disk_sb, data_sectors)] ^= 1;
    EXPECT_EQ(decode_superblock(flip, out), SbStatus::BadChecksum);

    // A checksum that matches inconsistent fields is still refused.
    struct Damage {
        const char* what;
        void (*apply)(Superblock&);
        SbStatus want;
    };
    const Damage damages[] = {
        {"region count", [](Superblock& s) { s.nr_regions += 1; }, SbStatus::Inconsistent},
        {"region size", [](Superblock& s) { s.region_sectors = 96; }, SbStatus::Inconsistent},
        {"unknown flag", [](Superblock& s) { s.flags = 8; }, SbStatus::Inconsistent},
        {"lease and an unknown flag", [](Superblock& s) { s.flags = DCC_SB_F_LEASE | (1u << 31); },
         SbStatus::Inconsistent},
        {"bitmap place", [](Superblock& s) { s.dirty_start = 7; }, SbStatus::Inconsistent},
        {"version", [](Superblock& s) { s.version = 2; }, SbStatus::BadVersion},
        {"role", [](Superblock& s) { s.role = Role(7); }, SbStatus::Inconsistent},
        {"origin 4", [](Superblock& s) { s.origin = Origin(4); }, SbStatus::Inconsistent},
        {"origin 2^32-1", [](Superblock& s) { s.origin = Origin(UINT32_MAX); }, SbStatus::Inconsistent},
        {"split 3", [](Superblock& s) { s.split = Split(3); }, SbStatus::Inconsistent},
        {"split old at or below the generation",
         [](Superblock& s) {
             s.split = Split::Old;
             s.split_generation = s.generation;
         },
         SbStatus::Inconsistent},
        {"split old with no split generation", [](Superblock& s) { s.split = Split::Old; },
         SbStatus::Inconsistent},
        {"split new with a split generation",
         [](Superblock& s) {
             s.split = Split::New;
             s.split_generation = s.generation + 1;
         },
         SbStatus::Inconsistent},
        {"no split with a split generation", [](Superblock& s) { s.split_generation = 1; },
         SbStatus::Inconsistent},
    };
    for (const Damage& d : damages) {
        Superblock bad = sb;
        d.apply(bad);
        EXPECT_EQ(decode_superblock(encode_superblock(bad), out), d.want) << d.what;
    }
}

TEST(Bitmap, SetCountAndTail) {
    Bitmap b(13);
    EXPECT_EQ(b.count(), 0u);
    b.set_all();
    EXPECT_EQ(b.count(), 13u);
    EXPECT_TRUE(b.tail_clean(16));
    b.clear(3);
    EXPECT_FALSE(b.test(3));
    EXPECT_TRUE(b.test(12));
    EXPECT_EQ(b.count(), 12u);
    EXPECT_EQ(b.bytes()[0], 0xf7);
    EXPECT_EQ(b.bytes()[1], 0x1f);
    auto blocks = b.blocks(1);
    EXPECT_EQ(blocks.size(), kMetaBlock);
    EXPECT_EQ(blocks[1], 0x1f);
    EXPECT_EQ(blocks[2], 0);

    std::vector<uint8_t> raw = {0xff, 0xff};
    Bitmap dirty(13, raw);
    EXPECT_FALSE(dirty.tail_clean(16));
}
