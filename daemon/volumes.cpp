// SPDX-License-Identifier: GPL-2.0-only
// dccd's volumes: the dm-dcc devices found on this host, each registered
// with the kernel as it appears and dropped as it goes.
#include <fcntl.h>
#include <unistd.h>

#include <map>
#include <vector>

#include "daemon.hpp"
#include "dcc/devices.hpp"
#include "dcc/error.hpp"
#include "dcc/status.hpp"
#include "log.hpp"

namespace dcc::dccd {

using ms = std::chrono::milliseconds;

// The dm devices are listed (one ioctl); only a name not seen before, or
// seen with another device number, is asked whether it is a dcc one, and
// every 15th scan (30 s) all that are not.  So a device whose table was
// replaced by a dcc one under the same name and number (a reload) is
// found within 30 s, a new one within a scan.  Every volume gone (or
// created again) is dropped before any is added, so that one that came
// back under another name finds what was kept of it.
void Daemon::scan_volumes() {
    std::vector<DmDevice> found = list_dm_devices();
    std::map<std::string, nl::Dev> now;
    for (const DmDevice& d : found) now[d.name] = d.dev;
    for (auto it = vols_.begin(); it != vols_.end();) {
        auto next = std::next(it);
        auto f = now.find(it->first);
        const Volume& v = *it->second;
        if (f == now.end()) {
            remove_volume(it);
        } else if (!(v.dev == f->second)) {
            // Removed and created again under the same name.
            remove_volume(it);
        } else if (!v.target_seen) {
            log_info("%s: the device has no dcc target any more", it->first.c_str());
            remove_volume(it);
        } else if (v.kst && v.kst->registration != std::optional<uint64_t>(v.reg.reg_id)) {
            // Removed and created again with the same minor (dm hands out
            // the lowest free one) between two scans: the new target knows
            // nothing of our registration (its status line, as last
            // published, says so).  A reload keeps it.
            log_info("%s: the target does not know this dccd's registration: created again",
                     it->first.c_str());
            remove_volume(it);
        }
        it = next;
    }
    bool all = ++scans_ % 15 == 0;
    for (auto it = not_dcc_.begin(); it != not_dcc_.end();) {
        auto f = now.find(it->first);
        it = f == now.end() || !(f->second == it->second) || all ? not_dcc_.erase(it) : std::next(it);
    }
    for (const DmDevice& d : found)
        if (!vols_.count(d.name) && !not_dcc_.count(d.name)) consider(d);
}

// Device @d, not a volume yet: added if it is a dcc one, remembered if it
// is another target.  (Else gone, its table not yet live, or renamed
// meanwhile: the next scan looks again.)
void Daemon::consider(const DmDevice& d) {
    bool other = false;
    auto dv = volume_at(d.dev, &other);
    if (other) not_dcc_[d.name] = d.dev;
    else if (dv && dv->name == d.name) add_volume(d.name, d.dev);
}

// A volume by name.  One created since the last scan (`dccctl up VOL &&
// dccctl wait VOL paired`) is looked for at once, not at the next scan;
// so is one removed and created again since (an OCF stop and start): the
// new target knows nothing of the old registration, and each command
// would fail as stale until the scan saw it.
Volume* Daemon::volume_named(const std::string& name) {
    if (auto it = vols_.find(name); it != vols_.end()) {
        Volume& v = *it->second;
        refresh_kernel_status(v);
        if (v.target_seen && v.kst && v.kst->registration == std::optional<uint64_t>(v.reg.reg_id))
            return &v;
        log_info("%s: the device was removed and created again", name.c_str());
        remove_volume(it);
    }
    for (const DmDevice& d : list_dm_devices()) {
        if (d.name != name) continue;
        // Renamed since the last scan: the entry under the old name holds
        // the kernel's registration, and would make this one's REGISTER
        // fail.  Dropped first, as the scan would.
        for (auto it = vols_.begin(); it != vols_.end(); ++it)
            if (it->second->dev == d.dev) {
                log_info("%s: its device is named %s now", it->first.c_str(), name.c_str());
                remove_volume(it);
                break;
            }
        not_dcc_.erase(name);  // asked for by name: look again
        consider(d);
        auto it = vols_.find(name);
        return it == vols_.end() ? nullptr : it->second.get();
    }
    return nullptr;
}

void Daemon::remove_volume(std::map<std::string, std::unique_ptr<Volume>>::iterator it) {
    Volume& v = *it->second;
    log_info("%s: device gone", it->first.c_str());
    answer_failure(v, {control::Code::NotFound, "the device is gone"});
    // The peer stops counting it paired (a migrate toward a site without
    // it would fence the owner until it came back).
    if (link_up_) link_.request(Chan::Ctl, vmsg(v, wire::Type::Detach));
    if (v.attempt) end_attempt(v, control::failure(control::Code::NotFound, "the device is gone"));
    kept_[v.reg.uuid] = core::KeptVolume{std::move(v.order), v.flush_failed, v.own.newest(),
                                         core::order(v.own.state()), v.reg.region_sectors,
                                         v.reg.nr_regions};
    emit({{"event", "removed"}, {"volume", it->first}});
    sync_->drop_volume(it->second->dev);
    vols_.erase(it);
    reindex();
}

void Daemon::add_volume(const std::string& name, nl::Dev dev) {
    nl::RegisterReply reg;
    std::unique_ptr<nl::Client> sock;
    try {
        sock = kernel_.open();
        reg = Kernel::register_volume(*sock, dev);
    } catch (const Error& e) {
        log_warn("%s: %s", name.c_str(), e.what());
        return;
    }
    core::Timeouts t{ms(cfg_.handover_timeout_ms), ms(cfg_.handover_timeout_ms)};
    auto v = std::make_unique<Volume>(name, dev, std::move(sock), reg, t, lease_params());
    v->region_bytes = uint64_t(reg.region_sectors) * 512;
    try {
        v->data_fd = open_block_device(reg.data, O_RDWR | O_DIRECT);
        reload_invalid(*v);
    } catch (const Error& e) {
        log_warn("%s: %s", name.c_str(), e.what());
        return;
    }
    log_info("%s: volume %s, %llu regions, %s, generation %llu, %llu regions missing here",
             name.c_str(), format_uuid(reg.uuid).c_str(), (unsigned long long)reg.nr_regions,
             role_name(Role(reg.role)), (unsigned long long)reg.generation,
             (unsigned long long)v->invalid.count());
    absent_told_.erase(reg.uuid);
    if (auto k = kept_.find(reg.uuid); k != kept_.end()) {
        core::KeptVolume& kk = k->second;
        if (kk.applies(v->own.state(), reg.region_sectors, reg.nr_regions)) {
            v->order = std::move(kk.order);
            v->flush_failed |= kk.flush_failed;
            v->own.remember(kk.newest);
        } else {
            log_info("%s: its metadata is new (formatted again): nothing kept from before", name.c_str());
        }
        kept_.erase(k);
    }
    Volume& ref = *v;
    vols_[name] = std::move(v);
    reindex();
    try {
        bool ours = access(marker_path(name).c_str(), F_OK) == 0;
        if (dm_suspended(name)) {
            if (ours) {
                // An earlier dccd suspended it for a handover and died.
                log_warn("%s: suspended by an earlier dccd: resuming (as %s)", name.c_str(),
                         role_name(Role(reg.role)));
                ref.suspended = true;
                resume(ref);
            } else {
                log_warn("%s: suspended by someone else: left as it is", name.c_str());
            }
        } else if (ours) {
            unlink(marker_path(name).c_str());  // resumed after the last dccd died
        }
    } catch (const Error& e) {
        log_warn("%s: %s", name.c_str(), e.what());
    }
    if (ref.own.phase() == core::Phase::Fenced)
        log_warn("%s: yielding generation %llu: the next pairing decides who owns it",
                 name.c_str(), (unsigned long long)reg.generation);
    if (link_up_) send_attach(ref);
}

}  // namespace dcc::dccd
