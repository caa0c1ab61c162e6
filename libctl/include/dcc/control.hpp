// SPDX-License-Identifier: GPL-2.0-only
// The local control socket of dccd, client side, and the conditions
// "dccctl wait" waits for.
//
// The protocol: one request line per connection ("status", "status VOL",
// "migrate VOL SITE", "events"); the answer is one JSON object per line:
// one line for status and migrate, a stream for events.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "dcc/error.hpp"

namespace dcc::control {

constexpr const char* kDefaultSocket = "/run/dcc/dccd.sock";

// Why a request failed, for programs: the "code" of a failed answer
// ({"ok": false, "error": TEXT, "code": CODE}).  dccd never sends exit
// codes; dccctl maps these to its own.
enum class Code : uint8_t {
    NotFound,   // no such volume (or site)
    Usage,      // a malformed request
    Refused,    // refused to keep data safe, or by the peer
    Busy,       // something else is in progress
    NoPeer,     // the peer is not there to ask
    Uncertain,  // no answer in time: the outcome is decided later
    Failed,     // it went wrong
};
const char* code_name(Code c);
std::optional<Code> parse_code(const std::string& name);
ExitCode exit_code(Code c);
// A failed answer.
nlohmann::json failure(Code c, const std::string& text);
// The exit code for a failed answer @a: from its code, kExitError if it
// has none this version knows.
ExitCode exit_code_of(const nlohmann::json& a);

// Send @request and return the first answer line, parsed.  Throws
// dcc::Error: kExitNotFound if dccd does not listen at @path, kExitError
// on a timeout (@timeout_ms, < 0: none) or a garbled answer.
nlohmann::json ask(const std::string& path, const std::string& request, int timeout_ms);

// Send each of @requests on a connection of its own, at most @parallel at
// a time, and return each one's first answer, in the order of @requests.
// A request that gets none (dccd not there, no answer within @timeout_ms,
// < 0: none; a garbled one) gets a failure answer that says why; nothing
// throws.
std::vector<nlohmann::json> ask_each(const std::string& path, const std::vector<std::string>& requests,
                                     int timeout_ms, unsigned parallel);

// Send @request and hand every answer line to @on_line until it returns
// false, the daemon closes the connection (returns false), or @stop is set
// (returns true).
bool stream(const std::string& path, const std::string& request,
            const std::function<bool(const nlohmann::json&)>& on_line, const volatile bool* stop);

// What "dccctl wait" can wait for.
struct Condition {
    enum class Kind { Paired, Hydrated, InSync, Role, Owner, SplitBrain } kind;
    std::string arg;  // Role: owner|replica; Owner: a site name
};

// "paired", "hydrated", "in-sync", "role=owner", "role=replica",
// "owner=SITE"; nullopt if it is none of those.
std::optional<Condition> parse_condition(const std::string& text);

// Why @c can never be met at a site @site whose peer is @peer (empty: not
// known yet, the link never came up): owner= a site that is neither.
// nullopt if it may be met.
std::optional<std::string> never_met(const Condition& c, const std::string& site,
                                     const std::string& peer);

// Whether volume @vol (one entry of a status answer's "volumes") meets @c;
// @site and @peer are the answer's.
bool met(const Condition& c, const nlohmann::json& vol, const std::string& site,
         const std::string& peer);

// Whether volume @vol reports a split brain (its "split" is old or new).
bool split_brain(const nlohmann::json& vol);

// The named volume in a status answer, or nullptr.
const nlohmann::json* find(const nlohmann::json& status, const std::string& name);

// @j as one line of JSON; bytes that are not UTF-8 (a device name is any
// bytes) are replaced rather than thrown on.
std::string dump(const nlohmann::json& j);

}  // namespace dcc::control
