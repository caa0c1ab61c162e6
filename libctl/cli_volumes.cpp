// SPDX-License-Identifier: GPL-2.0-only
// dccctl up and down: the volumes declared in /etc/dcc/volumes.d.
#include "cli.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "dcc/control.hpp"
#include "dcc/devices.hpp"
#include "dcc/error.hpp"
#include "dcc/volumes.hpp"

namespace dcc::cli {

namespace {

// The declared volumes @o names (VOL... or --all), each with its file.
std::vector<std::string> declared(const Opts& o, const std::string& verb) {
    std::string dir = o.get("dir", dcc::kVolumesDir);
    if (o.has("all") == !o.pos.empty()) usage_error(verb + " takes volumes, or --all");
    if (!o.has("all")) return o.pos;
    std::vector<std::string> names;
    std::error_code ec;
    if (!std::filesystem::exists(dir, ec)) return names;  // no volume declared yet
    for (const auto& e : std::filesystem::directory_iterator(dir, ec))
        if (e.path().extension() == ".toml") names.push_back(e.path().stem().string());
    if (ec) throw Error(dcc::kExitNotFound, "cannot read " + dir + ": " + ec.message());
    std::sort(names.begin(), names.end());
    return names;
}

// @one for each declared volume @o names, each on its own: one that fails
// is reported (stderr, or its error object with --json) and the others
// still run; the exit status is the worst.
int each_declared(const Opts& o, const std::string& verb, const std::function<void(const std::string&)>& one) {
    int worst = 0;
    for (const std::string& name : declared(o, verb)) {
        try {
            one(name);
        } catch (const Error& e) {
            if (o.has("json")) {
                json err = error_json(e.code(), e.what());
                err["volume"] = name;
                std::printf("%s\n", dcc::control::dump(err).c_str());
            } else {
                std::fprintf(stderr, "dccctl: %s\n", e.what());
            }
            worst = std::max(worst, int(e.code()));
        }
    }
    return worst;
}

// One declared volume up: its table from the file and the superblock.
json volume_up(const std::string& dir, const std::string& name) {
    std::string path = dir + "/" + name + ".toml";
    std::ifstream f(path);
    if (!f) throw Error(dcc::kExitNotFound, name + ": not declared (no " + path + ")");
    std::stringstream text;
    text << f.rdbuf();
    dcc::VolumeDecl d = dcc::parse_volume_decl(text.str(), name, path);
    dcc::MetaImage img = dcc::read_meta(d.meta);
    std::string uuid = dcc::volume_dm_uuid(img.sb), table = dcc::volume_table(d, img.sb);
    json r{{"volume", name}, {"uuid", uuid}, {"table", table}};
    dcc::DmInfo i = dcc::dm_info(name);
    if (i.exists) {
        if (i.uuid != uuid)
            throw Error(dcc::kExitRefused, name + ": a device of that name exists with UUID '" + i.uuid +
                                               "', not " + uuid + " (another volume?)");
        r["already"] = true;
        return r;
    }
    {
        int fd = open(d.data.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) throw Error(dcc::kExitNotFound, dcc::errno_text(name + ": data device " + d.data, errno), errno);
        uint64_t have = dcc::device_size(fd);
        close(fd);
        if (have < img.sb.data_sectors * 512)
            throw Error(dcc::kExitRefused, name + ": data device " + d.data + " holds " + std::to_string(have) +
                                               " bytes, the volume " + std::to_string(img.sb.data_sectors * 512));
    }
    dcc::dm_create(name, uuid, table);
    r["already"] = false;
    return r;
}

}  // namespace

int cmd_up(int argc, char** argv) {
    Opts o = parse_opts(argc, argv, {{"all", no_argument, nullptr, 0},
                                     {"dir", required_argument, nullptr, 0},
                                     {"json", no_argument, nullptr, 0}});
    std::string dir = o.get("dir", dcc::kVolumesDir);
    return each_declared(o, "up", [&](const std::string& name) {
        json r = volume_up(dir, name);
        r["ok"] = true;
        if (o.has("json")) std::printf("%s\n", dcc::control::dump(r).c_str());
        else if (r["already"].get<bool>()) std::printf("%s: up already\n", name.c_str());
        else std::printf("%s: up (%s)\n", name.c_str(), r["table"].get<std::string>().c_str());
    });
}

int cmd_down(int argc, char** argv) {
    Opts o = parse_opts(argc, argv, {{"all", no_argument, nullptr, 0},
                                     {"dir", required_argument, nullptr, 0},
                                     {"json", no_argument, nullptr, 0}});
    return each_declared(o, "down", [&](const std::string& name) {
        dcc::DmInfo i = dcc::dm_info(name);
        bool gone = !i.exists;
        if (!gone && i.uuid.rfind("DCC-", 0) != 0)
            throw Error(dcc::kExitRefused, name + " is no volume dccctl up made (dm UUID '" + i.uuid +
                                               "'): remove it with dmsetup if it is meant");
        if (!gone) dcc::dm_remove(name);
        if (o.has("json"))
            std::printf("%s\n", dcc::control::dump({{"ok", true}, {"volume", name}, {"already", gone}}).c_str());
        else std::printf("%s: down%s\n", name.c_str(), gone ? " already" : "");
    });
}

}  // namespace dcc::cli
