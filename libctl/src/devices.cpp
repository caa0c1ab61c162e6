// SPDX-License-Identifier: GPL-2.0-only
#include "dcc/devices.hpp"

#include <blkid/blkid.h>
#include <fcntl.h>
#include <libdevmapper.h>
#include <linux/dm-ioctl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <type_traits>

#include "dcc/error.hpp"

namespace dcc {

namespace {

struct TaskFree {
    void operator()(dm_task* t) const { dm_task_destroy(t); }
};
using Task = std::unique_ptr<dm_task, TaskFree>;

class Fd {
public:
    explicit Fd(int fd) : fd_(fd) {}
    ~Fd() {
        if (fd_ >= 0) close(fd_);
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    int get() const { return fd_; }

private:
    int fd_;
};

// The dcc target of a status task, if the device has exactly one.
bool dcc_params(dm_task* t, std::string& params) {
    void* next = nullptr;
    int found = 0;
    do {
        uint64_t start, length;
        char *type = nullptr, *p = nullptr;
        next = dm_get_next_target(t, next, &start, &length, &type, &p);
        if (type && !std::strcmp(type, "dcc")) {
            params = p ? p : "";
            found++;
        }
    } while (next);
    return found == 1;
}

template <typename Buf, typename Io>
int transfer_full(int fd, Buf* buf, size_t len, uint64_t off, Io io) {
    auto* p = reinterpret_cast<std::conditional_t<std::is_const_v<Buf>, const char, char>*>(buf);
    while (len) {
        ssize_t n = io(fd, p, len, off_t(off));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return n < 0 ? errno : EIO;
        p += n;
        len -= size_t(n);
        off += uint64_t(n);
    }
    return 0;
}

void pwrite_all(int fd, const void* buf, size_t len, uint64_t off, const std::string& what) {
    if (int e = write_full(fd, buf, len, off))
        throw Error(kExitError, errno_text("write " + what, e), e);
}

void pread_all(int fd, void* buf, size_t len, uint64_t off, const std::string& what) {
    if (int e = read_full(fd, buf, len, off))
        throw Error(kExitError, errno_text("read " + what, e), e);
}

}  // namespace

int read_full(int fd, void* buf, size_t len, uint64_t off) {
    return transfer_full(fd, buf, len, off, ::pread);
}

int write_full(int fd, const void* buf, size_t len, uint64_t off) {
    return transfer_full(fd, buf, len, off, ::pwrite);
}

namespace {

enum class Lookup { Found, NoDevice, NoTable, NotDcc };

// The status of one dm device (a task with its name or number set) into
// @v: no exceptions, for listings where most devices are not dcc ones.
Lookup status_into(dm_task* t, const std::string& fallback_name, Volume& v) {
    dm_task_no_open_count(t);
    struct dm_info info {};
    if (!dm_task_run(t) || !dm_task_get_info(t, &info) || !info.exists) return Lookup::NoDevice;
    const char* name = dm_task_get_name(t);
    v.name = name ? name : fallback_name;
    v.dev = {uint32_t(info.major), uint32_t(info.minor)};
    if (!info.live_table) return Lookup::NoTable;  // created, its table not yet loaded and resumed
    return dcc_params(t, v.params) ? Lookup::Found : Lookup::NotDcc;
}

}  // namespace

Volume find_volume(const std::string& spec) {
    Task t(dm_task_create(DM_DEVICE_STATUS));
    if (!t) throw Error(kExitError, "libdevmapper: cannot create task");
    struct stat st;
    if (spec.find('/') != std::string::npos) {
        if (stat(spec.c_str(), &st) || !S_ISBLK(st.st_mode))
            throw Error(kExitNotFound, spec + ": not a block device");
        dm_task_set_major(t.get(), int(major(st.st_rdev)));
        dm_task_set_minor(t.get(), int(minor(st.st_rdev)));
    } else if (!dm_task_set_name(t.get(), spec.c_str())) {
        throw Error(kExitUsage, "invalid volume name '" + spec + "'");
    }
    Volume v;
    switch (status_into(t.get(), spec, v)) {
    case Lookup::Found: return v;
    case Lookup::NoDevice: throw Error(kExitNotFound, "no device-mapper device '" + spec + "'");
    case Lookup::NoTable:
    case Lookup::NotDcc: break;
    }
    throw Error(kExitNotFound, "device '" + v.name + "' has no dcc target (or more than one)");
}

std::optional<Volume> volume_at(nl::Dev dev, bool* not_dcc) {
    Task t(dm_task_create(DM_DEVICE_STATUS));
    if (!t) throw Error(kExitError, "libdevmapper: cannot create task");
    dm_task_set_major(t.get(), int(dev.major));
    dm_task_set_minor(t.get(), int(dev.minor));
    Volume v;
    Lookup l = status_into(t.get(), "", v);
    if (not_dcc) *not_dcc = l == Lookup::NotDcc;
    if (l != Lookup::Found) return std::nullopt;
    return v;
}

std::vector<DmDevice> list_dm_devices() {
    Task t(dm_task_create(DM_DEVICE_LIST));
    if (!t || !dm_task_run(t.get())) throw Error(kExitError, "libdevmapper: cannot list devices");
    std::vector<DmDevice> out;
    dm_names* names = dm_task_get_names(t.get());
    if (!names || !names->dev) return out;
    for (;;) {
        out.push_back({names->name, {uint32_t(major(names->dev)), uint32_t(minor(names->dev))}});
        if (!names->next) break;
        names = reinterpret_cast<dm_names*>(reinterpret_cast<char*>(names) + names->next);
    }
    return out;
}

std::vector<Volume> list_volumes() {
    std::vector<Volume> out;
    for (const DmDevice& d : list_dm_devices()) {
        // Devices that are not dcc ones, or gone meanwhile, are passed over.
        Task s(dm_task_create(DM_DEVICE_STATUS));
        Volume v;
        if (s && dm_task_set_name(s.get(), d.name.c_str()) &&
            status_into(s.get(), d.name, v) == Lookup::Found)
            out.push_back(std::move(v));
    }
    return out;
}

namespace {

// Suspend or resume by the ioctl itself: libdevmapper keeps process-wide
// state (its counters of suspended devices), and dccd suspends many
// devices at once from several threads.  No udev cookie and no udev
// flags: a resume's change uevent comes without DM_COOKIE, and the
// device's nodes are neither created nor removed here (they exist).
void dm_suspend_ioctl(const std::string& name, uint32_t flags, const char* what) {
    struct dm_ioctl io {};
    io.version[0] = DM_VERSION_MAJOR;
    io.data_size = sizeof(io);
    io.data_start = sizeof(io);
    io.flags = flags;
    if (name.empty() || name.size() >= sizeof(io.name))
        throw Error(kExitUsage, std::string("cannot ") + what + " '" + name + "': not a device-mapper name");
    std::memcpy(io.name, name.data(), name.size());
    int fd = open("/dev/mapper/control", O_RDWR | O_CLOEXEC);
    if (fd < 0) throw Error(kExitError, errno_text("open /dev/mapper/control", errno), errno);
    int r = ioctl(fd, DM_DEV_SUSPEND, &io);
    int e = errno;
    close(fd);
    if (r) throw Error(kExitError, errno_text(std::string("cannot ") + what + " " + name, e), e);
}

}  // namespace

void dm_suspend(const std::string& name, bool noflush) {
    dm_suspend_ioctl(name, DM_SUSPEND_FLAG | (noflush ? DM_NOFLUSH_FLAG : 0), "suspend");
}

void dm_resume(const std::string& name) { dm_suspend_ioctl(name, 0, "resume"); }

bool dm_suspended(const std::string& name) {
    Task t(dm_task_create(DM_DEVICE_INFO));
    struct dm_info info {};
    if (!t || !dm_task_set_name(t.get(), name.c_str()) || !dm_task_run(t.get()) ||
        !dm_task_get_info(t.get(), &info) || !info.exists)
        throw Error(kExitNotFound, "no device-mapper device '" + name + "'");
    return info.suspended;
}

DmInfo dm_info(const std::string& name) {
    Task t(dm_task_create(DM_DEVICE_INFO));
    struct dm_info info {};
    if (!t || !dm_task_set_name(t.get(), name.c_str()) || !dm_task_run(t.get()) ||
        !dm_task_get_info(t.get(), &info))
        throw Error(kExitError, "libdevmapper: cannot ask about " + name);
    DmInfo out;
    out.exists = info.exists;
    if (!info.exists) return out;
    out.open_count = info.open_count;
    if (const char* u = dm_task_get_uuid(t.get())) out.uuid = u;
    return out;
}

void dm_create(const std::string& name, const std::string& uuid, const std::string& table) {
    std::istringstream in(table);
    uint64_t start = 0, len = 0;
    std::string type, params;
    in >> start >> len >> type;
    std::getline(in >> std::ws, params);
    Task t(dm_task_create(DM_DEVICE_CREATE));
    uint32_t cookie = 0;
    if (!t || !dm_task_set_name(t.get(), name.c_str()) || !dm_task_set_uuid(t.get(), uuid.c_str()) ||
        !dm_task_add_target(t.get(), start, len, type.c_str(), params.c_str()) ||
        !dm_task_set_cookie(t.get(), &cookie, 0))
        throw Error(kExitError, "libdevmapper: cannot set up the creation of " + name);
    int ok = dm_task_run(t.get());
    dm_udev_wait(cookie);
    if (!ok)
        throw Error(kExitError, "cannot create " + name + " (table '" + table +
                                    "'): the kernel refused it; its log says why (dmesg)");
}

void dm_remove(const std::string& name) {
    DmInfo i = dm_info(name);
    if (!i.exists) throw Error(kExitNotFound, "no device-mapper device '" + name + "'");
    if (i.open_count)
        throw Error(kExitRefused, name + " is in use (open count " + std::to_string(i.open_count) +
                                      "): stop what uses it first");
    Task t(dm_task_create(DM_DEVICE_REMOVE));
    uint32_t cookie = 0;
    // (retry: udev's probe of the device may hold it open for a moment)
    if (!t || !dm_task_set_name(t.get(), name.c_str()) || !dm_task_retry_remove(t.get()) ||
        !dm_task_set_cookie(t.get(), &cookie, 0))
        throw Error(kExitError, "libdevmapper: cannot set up the removal of " + name);
    int ok = dm_task_run(t.get());
    dm_udev_wait(cookie);
    if (!ok) throw Error(kExitError, "cannot remove " + name);
}

int open_block_device(nl::Dev dev, int flags) {
    dev_t want = makedev(dev.major, dev.minor);
    std::string path;
    std::ifstream uevent("/sys/dev/block/" + std::to_string(dev.major) + ":" +
                         std::to_string(dev.minor) + "/uevent");
    for (std::string line; std::getline(uevent, line);)
        if (line.rfind("DEVNAME=", 0) == 0) path = "/dev/" + line.substr(8);
    struct stat st;
    if (path.empty() || stat(path.c_str(), &st) || !S_ISBLK(st.st_mode) || st.st_rdev != want) {
        mkdir("/run/dcc", 0700);
        path = "/run/dcc/blk-" + std::to_string(dev.major) + "-" + std::to_string(dev.minor);
        unlink(path.c_str());
        if (mknod(path.c_str(), S_IFBLK | 0600, want))
            throw Error(kExitError, errno_text("create device node " + path, errno), errno);
    }
    int fd = open(path.c_str(), flags | O_CLOEXEC);
    if (fd < 0) throw Error(kExitError, errno_text("open " + path, errno), errno);
    return fd;
}

void write_back(int fd) {
    if (sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER))
        throw Error(kExitError, errno_text("cannot write the page cache back", errno), errno);
}

uint64_t device_size(int fd) {
    struct stat st;
    if (fstat(fd, &st)) throw Error(kExitError, errno_text("stat", errno), errno);
    if (S_ISREG(st.st_mode)) return uint64_t(st.st_size);
    uint64_t bytes = 0;
    if (!S_ISBLK(st.st_mode) || ioctl(fd, BLKGETSIZE64, &bytes))
        throw Error(kExitUsage, "not a block device or regular file");
    return bytes;
}

std::vector<std::string> probe_signatures(int fd, const std::string& path, bool wipe) {
    std::unique_ptr<std::remove_pointer_t<blkid_probe>, void (*)(blkid_probe)> pr(
        blkid_new_probe(), blkid_free_probe);
    if (!pr || blkid_probe_set_device(pr.get(), fd, 0, 0))
        throw Error(kExitError, "cannot probe " + path + " for signatures (blkid)");
    blkid_probe_enable_superblocks(pr.get(), 1);
    blkid_probe_set_superblocks_flags(pr.get(), BLKID_SUBLKS_TYPE | BLKID_SUBLKS_MAGIC |
                                                    BLKID_SUBLKS_BADCSUM);
    blkid_probe_enable_partitions(pr.get(), 1);
    blkid_probe_set_partitions_flags(pr.get(), BLKID_PARTS_MAGIC);
    std::vector<std::string> found;
    int r;
    while ((r = blkid_do_probe(pr.get())) == 0) {
        const char* v = nullptr;
        if (!blkid_probe_lookup_value(pr.get(), "TYPE", &v, nullptr))
            found.emplace_back(v);
        else if (!blkid_probe_lookup_value(pr.get(), "PTTYPE", &v, nullptr))
            found.push_back(std::string(v) + " partition table");
        else
            found.emplace_back("unknown");
        if (wipe && blkid_do_wipe(pr.get(), 0))
            throw Error(kExitError, errno_text("wipe the " + found.back() + " signature on " + path, errno),
                        errno);
    }
    if (r < 0) throw Error(kExitError, "cannot probe " + path + " for signatures (blkid)");
    return found;
}

namespace {

// The sysfs directory of a block device: a partition's is inside its
// disk's.
std::string sysfs_dir(dev_t d) {
    std::string link = "/sys/dev/block/" + std::to_string(major(d)) + ":" + std::to_string(minor(d));
    char buf[PATH_MAX];
    return realpath(link.c_str(), buf) ? std::string(buf) : link;
}

std::string names(const std::vector<std::string>& v) {
    std::string s;
    for (size_t i = 0; i < v.size(); i++) s += (i ? (i + 1 < v.size() ? ", " : " and ") : "") + v[i];
    return s;
}

}  // namespace

bool same_or_overlapping(const std::string& a, const std::string& b) {
    struct stat sa, sb;
    if (stat(a.c_str(), &sa) || stat(b.c_str(), &sb)) return false;
    if (S_ISBLK(sa.st_mode) && S_ISBLK(sb.st_mode)) {
        if (sa.st_rdev == sb.st_rdev) return true;
        std::string da = sysfs_dir(sa.st_rdev), db = sysfs_dir(sb.st_rdev);
        return da.rfind(db + "/", 0) == 0 || db.rfind(da + "/", 0) == 0;
    }
    return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

Superblock format_meta(const FormatOptions& opt, FormatReport* report) {
    FormatReport ignored;
    if (!report) report = &ignored;
    Fd data(open(opt.data_path.c_str(), O_RDONLY | O_CLOEXEC));
    if (data.get() < 0)
        throw Error(kExitNotFound, errno_text("open data device " + opt.data_path, errno), errno);
    uint64_t data_bytes = device_size(data.get());
    if (same_or_overlapping(opt.data_path, opt.meta_path))
        throw Error(kExitUsage, "data " + opt.data_path + " and metadata " + opt.meta_path +
                                    " are the same storage, or one holds the other: they must be apart");
    if (opt.empty) {
        auto sigs = probe_signatures(data.get(), opt.data_path);
        if (opt.force) report->overruled = sigs;  // said, not silently taken
        else if (!sigs.empty())
            throw Error(kExitRefused,
                        "--empty says data device " + opt.data_path + " holds nothing, but blkid "
                        "finds " + names(sigs) + " on it: the peer's copy would overwrite it; use "
                        "--force if that is meant");
    }

    // O_EXCL on a block device fails while it is claimed (by dm, a mount).
    int flags = O_RDWR | O_CLOEXEC;
    struct stat st;
    if (stat(opt.meta_path.c_str(), &st) == 0 && S_ISBLK(st.st_mode)) flags |= O_EXCL;
    Fd meta(open(opt.meta_path.c_str(), flags));
    if (meta.get() < 0) {
        if (errno == EBUSY)
            throw Error(kExitRefused, "metadata device " + opt.meta_path +
                                          " is in use (a live dcc device?); refusing to format it");
        throw Error(kExitNotFound, errno_text("open metadata device " + opt.meta_path, errno), errno);
    }

    Superblock sb = make_layout(data_bytes, opt.region_bytes, opt.uuid, opt.role);
    if (opt.sync) sb.flags |= DCC_SB_F_SYNC;
    uint64_t need = meta_bytes_needed(sb), have = device_size(meta.get());
    if (have < need)
        throw Error(kExitUsage, "metadata device " + opt.meta_path + " holds " +
                                    std::to_string(have) + " bytes; this volume needs " +
                                    std::to_string(need));

    std::vector<uint8_t> old(kMetaBlock);
    pread_all(meta.get(), old.data(), old.size(), 0, "metadata superblock");
    Superblock existing;
    if (!opt.force && decode_superblock(old, existing) != SbStatus::NotFormatted)
        throw Error(kExitRefused, "metadata device " + opt.meta_path +
                                      " already holds dcc metadata; use --force to overwrite it");
    if (!opt.force) {
        auto sigs = probe_signatures(meta.get(), opt.meta_path);
        if (!sigs.empty())
            throw Error(kExitRefused, "metadata device " + opt.meta_path + " holds " + names(sigs) +
                                          " (blkid): formatting would destroy it; use --force "
                                          "to overwrite it");
    } else {
        // Nothing else may later be found there (udev, blkid, mount).
        report->wiped = probe_signatures(meta.get(), opt.meta_path, true);
    }

    // Superblock gone first, so an interrupted format leaves no valid one.
    std::vector<uint8_t> zero(kMetaBlock, 0);
    pwrite_all(meta.get(), zero.data(), zero.size(), 0, "metadata superblock");
    if (fdatasync(meta.get())) throw Error(kExitError, errno_text("flush metadata", errno), errno);

    Bitmap valid(sb.nr_regions);
    if (!opt.empty) valid.set_all();
    Bitmap dirty(sb.nr_regions);
    pwrite_all(meta.get(), valid.blocks(sb.bitmap_blocks).data(), sb.bitmap_blocks * kMetaBlock,
               sb.valid_start * kMetaBlock, "valid bitmap");
    pwrite_all(meta.get(), dirty.blocks(sb.bitmap_blocks).data(), sb.bitmap_blocks * kMetaBlock,
               sb.dirty_start * kMetaBlock, "dirty bitmap");
    if (fdatasync(meta.get())) throw Error(kExitError, errno_text("flush metadata", errno), errno);
    std::vector<uint8_t> block = encode_superblock(sb);
    pwrite_all(meta.get(), block.data(), block.size(), 0, "metadata superblock");
    if (fdatasync(meta.get())) throw Error(kExitError, errno_text("flush metadata", errno), errno);
    return sb;
}

MetaImage read_meta(const std::string& meta_path) {
    MetaCheck c = check_meta(meta_path, std::nullopt);
    if (!c.ok()) throw Error(kExitError, meta_path + ": " + c.problems.front());
    return std::move(*c.image);
}

MetaCheck check_meta(const std::string& meta_path, const std::optional<std::string>& data_path) {
    MetaCheck c;
    Fd meta(open(meta_path.c_str(), O_RDONLY | O_CLOEXEC));
    if (meta.get() < 0)
        throw Error(kExitNotFound, errno_text("open metadata device " + meta_path, errno), errno);
    struct stat st;
    if (fstat(meta.get(), &st) == 0 && S_ISBLK(st.st_mode)) ioctl(meta.get(), BLKFLSBUF, 0);
    uint64_t meta_size = device_size(meta.get());
    if (data_path && same_or_overlapping(meta_path, *data_path))
        c.problems.push_back("data " + *data_path + " and metadata " + meta_path +
                             " are the same storage, or overlap");
    if (meta_size < kMetaBlock) {
        c.problems.push_back("the metadata device holds " + std::to_string(meta_size) +
                             " bytes: not even a superblock");
        return c;
    }
    std::vector<uint8_t> block(kMetaBlock);
    pread_all(meta.get(), block.data(), block.size(), 0, "metadata superblock");
    Superblock sb;
    if (SbStatus s = decode_superblock(block, sb); s != SbStatus::Ok) {
        c.problems.push_back(std::string("superblock: ") + sb_status_text(s));
        return c;
    }
    if (meta_size < meta_bytes_needed(sb)) {
        c.problems.push_back("the metadata device holds " + std::to_string(meta_size) + " bytes, its " +
                             "bitmaps need " + std::to_string(meta_bytes_needed(sb)));
        return c;
    }
    uint64_t bytes = sb.bitmap_blocks * kMetaBlock;
    std::vector<uint8_t> v(bytes), d(bytes);
    pread_all(meta.get(), v.data(), bytes, sb.valid_start * kMetaBlock, "valid bitmap");
    pread_all(meta.get(), d.data(), bytes, sb.dirty_start * kMetaBlock, "dirty bitmap");
    MetaImage img{sb, Bitmap(sb.nr_regions, std::move(v)), Bitmap(sb.nr_regions, std::move(d))};
    if (!img.valid.tail_clean(bytes * 8)) c.problems.push_back("valid bitmap: bits set past the last region");
    if (!img.dirty.tail_clean(bytes * 8)) c.problems.push_back("dirty bitmap: bits set past the last region");
    if (data_path) {
        Fd data(open(data_path->c_str(), O_RDONLY | O_CLOEXEC));
        if (data.get() < 0)
            throw Error(kExitNotFound, errno_text("open data device " + *data_path, errno), errno);
        uint64_t have = device_size(data.get()) / 512;
        if (have < sb.data_sectors)
            c.problems.push_back("the data device holds " + std::to_string(have) + " sectors, the volume " +
                                 std::to_string(sb.data_sectors) + ": not this volume's data device?");
    }
    c.image = std::move(img);
    return c;
}

}  // namespace dcc
