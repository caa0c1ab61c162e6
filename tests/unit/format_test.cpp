// SPDX-License-Identifier: GPL-2.0-only
// dccctl format-meta's refusals (libctl/src/devices.cpp), on image files:
// it never writes over a signature blkid knows without --force, never
// over dcc metadata without --force, never with data and metadata one
// and the same, and an --empty data device that holds a filesystem is
// refused too.  A refusal writes nothing.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "dcc/devices.hpp"
#include "dcc/error.hpp"

using namespace dcc;
namespace fs = std::filesystem;

namespace {

struct Images {
    std::string dir, data, meta;
    Images() {
        char t[] = "/tmp/dcc-format-XXXXXX";
        dir = mkdtemp(t);
        data = dir + "/data.img";
        meta = dir + "/meta.img";
        std::ofstream(data).flush();
        std::ofstream(meta).flush();
        fs::resize_file(data, 64 << 20);
        fs::resize_file(meta, 4 << 20);
    }
    ~Images() { fs::remove_all(dir); }
    FormatOptions opts(bool empty = false, bool force = false) const {
        FormatOptions o;
        o.data_path = data;
        o.meta_path = meta;
        o.uuid[0] = 1;
        o.empty = empty;
        o.force = force;
        return o;
    }
};

std::string contents(const std::string& p) {
    std::ifstream f(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(f), {}};
}

void mkfs_ext4(const std::string& p) {
    std::string cmd = "mke2fs -q -F -t ext4 " + p + " >/dev/null 2>&1";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
}

std::vector<std::string> signatures(const std::string& p) {
    int fd = open(p.c_str(), O_RDONLY | O_CLOEXEC);
    EXPECT_GE(fd, 0);
    auto s = probe_signatures(fd, p);
    close(fd);
    return s;
}

// The refusal's exit code and text; "" if format_meta did not throw.
std::pair<ExitCode, std::string> refusal(const FormatOptions& o) {
    try {
        format_meta(o);
    } catch (const Error& e) {
        return {e.code(), e.what()};
    }
    return {kExitOk, ""};
}

}  // namespace

TEST(FormatMeta, RefusesAFilesystemOnTheMetadataDeviceUnlessForced) {
    Images im;
    mkfs_ext4(im.meta);
    ASSERT_EQ(signatures(im.meta), std::vector<std::string>{"ext4"});
    std::string before = contents(im.meta);
    auto [code, why] = refusal(im.opts());
    EXPECT_EQ(code, kExitRefused);
    EXPECT_NE(why.find("holds ext4 (blkid)"), std::string::npos) << why;
    EXPECT_EQ(contents(im.meta), before) << "a refusal wrote to the metadata device";

    FormatReport report;
    format_meta(im.opts(false, true), &report);
    EXPECT_EQ(report.wiped, std::vector<std::string>{"ext4"});
    EXPECT_TRUE(report.overruled.empty());
    EXPECT_TRUE(signatures(im.meta).empty()) << "the ext4 signature outlived --force";
    EXPECT_NO_THROW(read_meta(im.meta));
}

TEST(FormatMeta, RefusesItsOwnMetadataUnlessForced) {
    Images im;
    format_meta(im.opts());
    EXPECT_TRUE(signatures(im.meta).empty()) << "blkid took dcc metadata for something";
    auto [code, why] = refusal(im.opts());
    EXPECT_EQ(code, kExitRefused);
    EXPECT_NE(why.find("already holds dcc metadata"), std::string::npos) << why;
    EXPECT_NO_THROW(format_meta(im.opts(false, true)));
}

TEST(FormatMeta, RefusesOneFileAsDataAndMetadata) {
    Images im;
    FormatOptions o = im.opts(false, true);
    o.meta_path = o.data_path;
    std::string before = contents(im.data);
    auto [code, why] = refusal(o);
    EXPECT_EQ(code, kExitUsage) << "--force does not override it";
    EXPECT_NE(why.find("are the same storage"), std::string::npos) << why;
    // The same file by another name.
    std::string other = im.dir + "/other-name.img";
    fs::create_symlink(im.data, other);
    o.meta_path = other;
    EXPECT_EQ(refusal(o).first, kExitUsage);
    fs::remove(other);
    fs::create_hard_link(im.data, other);
    EXPECT_EQ(refusal(o).first, kExitUsage);
    EXPECT_EQ(contents(im.data), before);
    EXPECT_TRUE(same_or_overlapping(im.data, other));
    EXPECT_FALSE(same_or_overlapping(im.data, im.meta));
}

TEST(FormatMeta, EmptyRefusesADataDeviceThatHoldsAFilesystem) {
    Images im;
    mkfs_ext4(im.data);
    auto [code, why] = refusal(im.opts(true));
    EXPECT_EQ(code, kExitRefused);
    EXPECT_NE(why.find("--empty says data device"), std::string::npos) << why;
    EXPECT_NE(why.find("ext4"), std::string::npos) << why;
    EXPECT_TRUE(contents(im.meta).find_first_not_of('\0') == std::string::npos)
        << "a refusal wrote to the metadata device";
    // The owner's data is what it serves: no --empty, no question.
    EXPECT_NO_THROW(format_meta(im.opts(false, true)));
    FormatReport report;
    EXPECT_NO_THROW(format_meta(im.opts(true, true), &report));
    EXPECT_EQ(report.overruled, std::vector<std::string>{"ext4"}) << "--force overruled it silently";
    EXPECT_EQ(signatures(im.data), std::vector<std::string>{"ext4"}) << "format-meta wrote to data";
}

namespace {
// The problems check_meta finds, joined; "" if none.
std::string problems(const std::string& meta, std::optional<std::string> data = std::nullopt) {
    std::string out;
    for (const std::string& p : check_meta(meta, data).problems) out += (out.empty() ? "" : "; ") + p;
    return out;
}
void poke(const std::string& path, uint64_t off, uint8_t byte) {
    int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(pwrite(fd, &byte, 1, off_t(off)), 1);
    close(fd);
}
}  // namespace

// check-meta: what it reports of a damaged or mismatching superblock, and
// of a pair that does not go together; nothing of a good pair.
TEST(CheckMeta, ReportsDamageAndMismatch) {
    Images im;
    EXPECT_NE(problems(im.meta), "") << "unformatted";
    EXPECT_NE(problems(im.meta).find("not formatted"), std::string::npos) << problems(im.meta);
    Superblock sb = format_meta(im.opts());
    MetaCheck good = check_meta(im.meta, im.data);
    EXPECT_TRUE(good.ok()) << problems(im.meta, im.data);
    ASSERT_TRUE(good.image);
    EXPECT_EQ(good.image->sb.nr_regions, sb.nr_regions);
    EXPECT_EQ(good.image->valid.count(), sb.nr_regions);
    EXPECT_NE(problems(im.meta, im.meta).find("the same storage"), std::string::npos);

    fs::resize_file(im.data, 32 << 20);
    EXPECT_NE(problems(im.meta, im.data).find("not this volume's data device"), std::string::npos)
        << problems(im.meta, im.data);
    fs::resize_file(im.data, 128 << 20);
    EXPECT_EQ(problems(im.meta, im.data), "") << "a larger data device is fine (the table uses the volume's length)";

    // A bit past the last region (1024 regions of 64 KiB: bits 1024 on).
    poke(im.meta, uint64_t(sb.valid_start) * kMetaBlock + 1024 / 8, 0x01);
    EXPECT_EQ(problems(im.meta), "valid bitmap: bits set past the last region");
    EXPECT_THROW(read_meta(im.meta), Error);
    poke(im.meta, uint64_t(sb.valid_start) * kMetaBlock + 1024 / 8, 0x00);
    EXPECT_EQ(problems(im.meta), "");

    fs::resize_file(im.meta, 2 * kMetaBlock);
    EXPECT_NE(problems(im.meta).find("bitmaps need"), std::string::npos) << problems(im.meta);
    fs::resize_file(im.meta, 4 << 20);

    poke(im.meta, 100, 0xee);  // inside the checksummed superblock
    EXPECT_EQ(problems(im.meta), "superblock: " + std::string(sb_status_text(SbStatus::BadChecksum)));
}
