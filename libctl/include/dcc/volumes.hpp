// SPDX-License-Identifier: GPL-2.0-only
// Declared volumes (dccctl up/down): one file per volume in a directory,
// /etc/dcc/volumes.d/NAME.toml, naming its data and metadata devices.  The
// table is built from the file and the metadata's superblock (no I/O here).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "dcc/meta.hpp"

namespace dcc {

inline constexpr const char* kVolumesDir = "/etc/dcc/volumes.d";

struct VolumeDecl {
    std::string name;  // the dm name: the file's name without .toml
    std::string data;  // block device paths (stable ones: /dev/disk/by-id/...)
    std::string meta;
    std::optional<unsigned> miss_timeout;  // seconds, the table's feature
};

// A dm name dccctl up accepts: 1-64 letters, digits, '-', '_', '.', not
// starting with '.'.
bool valid_volume_name(std::string_view name);

// Parse @text, the file @origin of volume @name; throws Error(kExitUsage)
// naming the file and line.
VolumeDecl parse_volume_decl(std::string_view text, const std::string& name, const std::string& origin);

// The dm table line for @d whose metadata holds @sb:
// "0 SECTORS dcc DATA META [2 miss_timeout S]".
std::string volume_table(const VolumeDecl& d, const Superblock& sb);

// The dm UUID: "DCC-" and the volume's UUID (udev's rule links it).
std::string volume_dm_uuid(const Superblock& sb);

}  // namespace dcc
