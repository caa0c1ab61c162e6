// SPDX-License-Identifier: GPL-2.0-only
// Declared volumes (dccctl up): the file, and the table and UUID built
// from it and the superblock.
#include <gtest/gtest.h>

#include "dcc/error.hpp"
#include "dcc/volumes.hpp"

using namespace dcc;

namespace {

std::string error_of(const std::string& text, const std::string& name = "vm1") {
    try {
        parse_volume_decl(text, name, "/etc/dcc/volumes.d/vm1.toml");
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), kExitUsage);
        return e.what();
    }
    return "";
}

}  // namespace

TEST(Volumes, DeclarationAndTable) {
    VolumeDecl d = parse_volume_decl("data = \"/dev/disk/by-id/a\"\nmeta = \"/dev/disk/by-id/b\"\n", "vm1", "f");
    EXPECT_EQ(d.name, "vm1");
    EXPECT_EQ(d.data, "/dev/disk/by-id/a");
    EXPECT_EQ(d.meta, "/dev/disk/by-id/b");
    EXPECT_FALSE(d.miss_timeout);
    Superblock sb;
    sb.data_sectors = 2097152;
    sb.uuid = *parse_uuid("5a5a5a5a-0000-4000-8000-000000000001");
    EXPECT_EQ(volume_table(d, sb), "0 2097152 dcc /dev/disk/by-id/a /dev/disk/by-id/b");
    EXPECT_EQ(volume_dm_uuid(sb), "DCC-5a5a5a5a-0000-4000-8000-000000000001");
    d = parse_volume_decl("data = \"/dev/a\"\nmeta = \"/dev/b\"\nmiss_timeout = 60\n", "vm1", "f");
    EXPECT_EQ(volume_table(d, sb), "0 2097152 dcc /dev/a /dev/b 2 miss_timeout 60");
}

TEST(Volumes, BadDeclarationsNameTheFileAndLine) {
    EXPECT_EQ(error_of("data = \"/dev/a\"\n"), "/etc/dcc/volumes.d/vm1.toml: 'meta' is missing");
    EXPECT_EQ(error_of("meta = \"/dev/a\"\n"), "/etc/dcc/volumes.d/vm1.toml: 'data' is missing");
    EXPECT_EQ(error_of("data = \"/dev/a\"\nmeta = \"/dev/a\"\n"),
              "/etc/dcc/volumes.d/vm1.toml: 'data' and 'meta' are the same device");
    EXPECT_EQ(error_of("data = \"/dev/a\"\nmeta = \"dev/b\"\n"),
              "/etc/dcc/volumes.d/vm1.toml:2: 'meta' must be an absolute path to a block device");
    EXPECT_EQ(error_of("data = \"/dev/a\"\nmeta = \"/dev/b\"\nsize = 3\n"),
              "/etc/dcc/volumes.d/vm1.toml:3: unknown key 'size' (data, meta, miss_timeout)");
    EXPECT_EQ(error_of("data = \"/dev/a\"\nmeta = \"/dev/b\"\nmiss_timeout = 0\n"),
              "/etc/dcc/volumes.d/vm1.toml:3: 'miss_timeout' must be a number of seconds, 1 to 86400");
    EXPECT_EQ(error_of("data = \"/dev/a\"\nmeta = \"/dev/b\"\nmiss_timeout = \"30\"\n"),
              "/etc/dcc/volumes.d/vm1.toml:3: 'miss_timeout' must be a number of seconds, 1 to 86400");
    EXPECT_NE(error_of("data = \n").find("vm1.toml:1:"), std::string::npos) << "a TOML error";
    EXPECT_NE(error_of("data = \"/dev/a\"\nmeta = \"/dev/b\"\n", "../x").find("is no volume name"),
              std::string::npos);
    EXPECT_TRUE(valid_volume_name("vm-1_a.b"));
    EXPECT_FALSE(valid_volume_name(".hidden"));
    EXPECT_FALSE(valid_volume_name(""));
    EXPECT_FALSE(valid_volume_name(std::string(65, 'a')));
    EXPECT_FALSE(valid_volume_name("a/b"));
}
