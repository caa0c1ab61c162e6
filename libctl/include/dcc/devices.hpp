// SPDX-License-Identifier: GPL-2.0-only
// Block devices and dm-dcc volumes on this host.
#pragma once

#include <cstdint>
#include <optional>
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
// Every dm device, dcc or not: its name and number (one ioctl).
struct DmDevice {
    std::string name;
    nl::Dev dev;
};
std::vector<DmDevice> list_dm_devices();
// Every dm device with a dcc target (one status ioctl per dm device).
std::vector<Volume> list_volumes();
// The dm device @dev if it still has a dcc target (one status ioctl);
// @not_dcc, if given, says whether it has a live table that is not a dcc
// one (false also when it is gone, or has no live table yet).
std::optional<Volume> volume_at(nl::Dev dev, bool* not_dcc = nullptr);

// Suspend (noflush: bios waiting in the target go back to dm's queue),
// resume, and ask whether a dm device is suspended.  Throw dcc::Error.
// Suspend and resume may run in several threads at once.
void dm_suspend(const std::string& name, bool noflush);
void dm_resume(const std::string& name);
bool dm_suspended(const std::string& name);

// A device-mapper device: whether it exists, its UUID and open count.
struct DmInfo {
    bool exists = false;
    std::string uuid;
    int open_count = 0;
};
DmInfo dm_info(const std::string& name);
// Create @name with @uuid and one target line "START LEN TYPE PARAMS", and
// resume it; throws Error with what failed (the kernel's reason is in its
// log).
void dm_create(const std::string& name, const std::string& uuid, const std::string& table);
// Remove @name; throws Error(kExitRefused) if it is open.
void dm_remove(const std::string& name);

// Open a block device by number: its /dev node if it has one, else a
// private node under /run/dcc.  Throws dcc::Error.
int open_block_device(nl::Dev dev, int flags);

// The page cache of the block device open at @fd written back, and the
// writes waited for, without a flush of the device's cache (fsync would
// add one): what makes a dcc device's buffered writes set their dirty
// bits before it is suspended; the SET_ROLE that persists what is decided
// then (yielding for a handover) flushes the data device before its
// commit.  Throws dcc::Error.
void write_back(int fd);

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
    bool force = false;  // overwrite dcc metadata or another signature
    bool sync = false;   // synchronous replication (DCC_SB_F_SYNC)
};

// What blkid recognises on an open device or file (filesystems, RAID and
// LVM members, partition tables; checksums not required), as names such
// as "ext4" or "gpt partition table".  dcc's own metadata is not among
// them.  With @wipe (a read-write fd) each one's magic is erased as
// wipefs does.  Throws dcc::Error.
std::vector<std::string> probe_signatures(int fd, const std::string& path, bool wipe = false);

// Whether two paths name the same storage or overlapping storage: one
// file, one block device, or a disk and one of its partitions.
bool same_or_overlapping(const std::string& a, const std::string& b);

// Write a new superblock and bitmaps; returns the superblock written.
// Refused (nothing written) when data and metadata are the same or
// overlap; without --force when the metadata device holds dcc metadata or
// any other signature, or when --empty is asked of a data device that
// holds one (its content would be overwritten by the peer's copy).  With
// --force, the metadata device's signatures are wiped first.
struct FormatReport {
    std::vector<std::string> wiped;     // from the metadata device (--force)
    std::vector<std::string> overruled;  // on an --empty data device (--force)
};
Superblock format_meta(const FormatOptions& opt, FormatReport* report = nullptr);
MetaImage read_meta(const std::string& meta_path);

// What check-meta finds: every problem of a metadata device (a damaged or
// unformatted superblock, a device too small for its bitmaps, bits past
// the last region) and, with a data device, of the pair (the same storage,
// a data device smaller than the volume).  The superblock and counts when
// it could be read.
struct MetaCheck {
    std::vector<std::string> problems;
    std::optional<MetaImage> image;
    bool ok() const { return problems.empty(); }
};
// Throws dcc::Error only when a device cannot be opened or read.
MetaCheck check_meta(const std::string& meta_path, const std::optional<std::string>& data_path);

}  // namespace dcc
