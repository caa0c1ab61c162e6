// SPDX-License-Identifier: GPL-2.0-only
// What dccctl's files share: option parsing, usage errors, the --json
// error object, and the verbs the verb table takes from other files.
//
// dccctl.cpp: these helpers, the verbs that talk to dccd or the kernel
// (udev, metrics, wait, events, migrate, failover, resolve, mode), help,
// the verb table and main.  cli_status.cpp: status.  cli_meta.cpp: the
// verbs on metadata and data devices, which need no dccd (format-meta,
// dump-meta, check-meta, fill).  cli_volumes.cpp: up and down, for the volumes declared in
// /etc/dcc/volumes.d.
#pragma once

#include <getopt.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "dcc/status.hpp"

namespace dcc::cli {

using nlohmann::json;

// In dccctl.cpp.
[[noreturn]] void usage_error(const std::string& msg);

// getopt_long over argv[1..] (argv[0] is the verb).
struct Opts {
    std::map<std::string, std::string> val;
    std::vector<std::string> pos;
    bool has(const std::string& k) const { return val.count(k); }
    std::string get(const std::string& k, const std::string& d = "") const {
        auto it = val.find(k);
        return it == val.end() ? d : it->second;
    }
};

Opts parse_opts(int argc, char** argv, const std::vector<option>& spec);

json error_json(int code, const std::string& what);

// In cli_meta.cpp.
int cmd_format_meta(int argc, char** argv);
int cmd_dump_meta(int argc, char** argv);
int cmd_check_meta(int argc, char** argv);
int cmd_fill(int argc, char** argv);

// In cli_status.cpp: dccd's status (the kernel's without dccd, for
// @vol or every volume), a volume's progress of @what (hydration,
// replication) in it, if it has one, and the status verb.
json get_status(const Opts& o, const std::string& vol);
std::optional<dcc::Progress> progress_from(const json& v, const char* what);
int cmd_status(int argc, char** argv);

// In cli_volumes.cpp.
int cmd_up(int argc, char** argv);
int cmd_migrate(int argc, char** argv);

// dccd's control socket (--socket), a --timeout in seconds (0: no limit
// if @zero_ok), and a string field of a JSON answer or @dflt.
std::string socket_of(const Opts& o);
// A volume named by its device path: its dm name (pos[0]).
void by_name(Opts& o);
int timeout_of(const Opts& o, int dflt, bool zero_ok);
std::string str_or(const json& v, const char* k, const char* dflt);
int cmd_down(int argc, char** argv);

}  // namespace dcc::cli
