// SPDX-License-Identifier: GPL-2.0-only
// Block devices and dm-dcc volumes on this host.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "dcc/meta.hpp"
#include "dcc/nl.hpp"

namespace dcc {

// A dm device with a dcc target, found through libdevmapper.
struct Volume {
    std::string name;
    nl::Dev dev;
    std::string params;  // INFO status of the dcc target
};

// By dm name, /dev/mapper/NAME or any path to the dm device node.
Volume find_volume(const std::string& spec);
std::vector<Volume> list_volumes();

// Suspend (noflush: bios waiting in the target go back to dm's queue),
// resume, and ask whether a dm device is suspended.  Throw dcc::Error.
void dm_suspend(const std::string& name, bool noflush);
void dm_resume(const std::string& name);
bool dm_suspended(const std::string& name);

// Open a block device by number: its /dev node if it has one, else a
// private node under /run/dcc.  Throws dcc::Error.
int open_block_device(nl::Dev dev, int flags);

// Whole reads and writes at an offset, retried on EINTR and short
// transfers.  0, or the errno (EIO for an unexpected end).
int read_full(int fd, void* buf, size_t len, uint64_t off);
int write_full(int fd, const void* buf, size_t len, uint64_t off);

// Size in bytes of an open block device or regular file.
uint64_t device_size(int fd);

// The metadata device, read and written as dccctl format-meta does.
struct MetaImage {
    Superblock sb;
    Bitmap valid;
    Bitmap dirty;
};

struct FormatOptions {
    std::string data_path;
    std::string meta_path;
    uint32_t region_bytes = DCC_DEFAULT_REGION_SECTORS * 512;
    Uuid uuid{};
    Role role = Role::Owner;
    bool empty = false;
    bool force = false;
};

// Write a new superblock and bitmaps; returns the superblock written.
Superblock format_meta(const FormatOptions& opt);
MetaImage read_meta(const std::string& meta_path);

}  // namespace dcc
