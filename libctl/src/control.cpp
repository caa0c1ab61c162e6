// SPDX-License-Identifier: GPL-2.0-only
#include "dcc/control.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>

#include "dcc/error.hpp"

namespace dcc::control {

using nlohmann::json;

namespace {

class Conn {
public:
    Conn(const std::string& path, const std::string& request) {
        sockaddr_un sa{};
        sa.sun_family = AF_UNIX;
        if (path.empty() || path.size() >= sizeof(sa.sun_path))
            throw Error(kExitUsage, "bad control socket path '" + path + "'");
        std::memcpy(sa.sun_path, path.data(), path.size());
        fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd_ < 0) throw Error(kExitError, errno_text("socket", errno), errno);
        if (connect(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof(sa))) {
            int e = errno;
            close(fd_);
            throw Error(e == EACCES ? kExitRefused : kExitNotFound,
                        errno_text("cannot reach dccd at " + path +
                                       (e == EACCES ? " (root only)" : " (is it running?)"),
                                   e),
                        e);
        }
        std::string line = request + "\n";
        if (send(fd_, line.data(), line.size(), MSG_NOSIGNAL) != ssize_t(line.size())) {
            int e = errno;
            close(fd_);
            throw Error(kExitError, errno_text("cannot send the request to dccd", e), e);
        }
    }
    ~Conn() { close(fd_); }
    Conn(const Conn&) = delete;
    Conn& operator=(const Conn&) = delete;

    int fd() const { return fd_; }

    // The next whole line read so far, if any.
    std::optional<std::string> take_line() {
        auto nl = buf_.find('\n');
        if (nl == std::string::npos) return std::nullopt;
        std::string l = buf_.substr(0, nl);
        buf_.erase(0, nl + 1);
        return l;
    }

    // One read of what the daemon sent: false when it closed the
    // connection (or the read failed), true otherwise (EINTR included).
    bool read_some() {
        char b[4096];
        ssize_t got = read(fd_, b, sizeof(b));
        if (got < 0 && errno == EINTR) return true;
        if (got <= 0) return false;
        buf_.append(b, size_t(got));
        if (buf_.size() > (16u << 20)) throw Error(kExitError, "answer from dccd too long");
        return true;
    }

    // The next line; nullopt when the daemon closed the connection, or on
    // a timeout (timed_out set) or an interruption (EINTR).
    std::optional<std::string> line(int timeout_ms, bool& timed_out) {
        timed_out = false;
        auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
        for (;;) {
            if (auto l = take_line()) return l;
            int wait = -1;
            if (timeout_ms >= 0) {
                auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                                deadline - std::chrono::steady_clock::now())
                                .count();
                if (left <= 0) {
                    timed_out = true;
                    return std::nullopt;
                }
                wait = int(left);
            }
            pollfd p{fd_, POLLIN, 0};
            int n = poll(&p, 1, wait);
            if (n < 0) {
                if (errno == EINTR) return std::nullopt;
                throw Error(kExitError, errno_text("poll", errno), errno);
            }
            if (n == 0) continue;
            if (!read_some()) return std::nullopt;
        }
    }

private:
    int fd_ = -1;
    std::string buf_;
};

std::string no_answer_within(int timeout_ms) {
    return "no answer from dccd within " +
           (timeout_ms % 1000 ? std::to_string(timeout_ms) + " ms" : std::to_string(timeout_ms / 1000) + " s");
}

json parse_line(const std::string& l) {
    json j = json::parse(l, nullptr, false);
    if (j.is_discarded() || !j.is_object())
        throw Error(kExitError, "garbled answer from dccd: '" + l.substr(0, 200) + "'");
    return j;
}

}  // namespace

json ask(const std::string& path, const std::string& request, int timeout_ms) {
    Conn c(path, request);
    bool timed_out;
    auto l = c.line(timeout_ms, timed_out);
    if (timed_out)
        throw Error(kExitError, no_answer_within(timeout_ms));
    if (!l) throw Error(kExitError, "dccd closed the connection without an answer");
    return parse_line(*l);
}

std::vector<json> ask_each(const std::string& path, const std::vector<std::string>& requests,
                           int timeout_ms, unsigned parallel) {
    using Clock = std::chrono::steady_clock;
    struct Open {
        size_t i;  // the request's index
        std::unique_ptr<Conn> c;
        Clock::time_point deadline;
    };
    std::vector<json> answers(requests.size());
    std::vector<Open> open;
    size_t next = 0;
    parallel = std::max(1u, parallel);
    // One thread, one poll over the connections open: a hundred requests
    // cost a hundred sockets, not a hundred threads (which, on a small or
    // emulated machine, took CPU from the dccd that serves them).
    while (next < requests.size() || !open.empty()) {
        while (open.size() < parallel && next < requests.size()) {
            size_t i = next++;
            try {
                open.push_back({i, std::make_unique<Conn>(path, requests[i]),
                                timeout_ms < 0 ? Clock::time_point::max()
                                               : Clock::now() + std::chrono::milliseconds(timeout_ms)});
            } catch (const Error& e) {
                answers[i] = failure(Code::Failed, e.what());
            }
        }
        if (open.empty()) continue;
        std::vector<pollfd> p;
        auto first = open.front().deadline;
        for (const Open& o : open) {
            p.push_back({o.c->fd(), POLLIN, 0});
            first = std::min(first, o.deadline);
        }
        int wait = 60000;  // (a request without a deadline: poll again each minute)
        if (first != Clock::time_point::max()) {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(first - Clock::now()).count();
            wait = int(std::clamp<long long>(left + 1, 0, 60000));
        }
        int n = poll(p.data(), nfds_t(p.size()), wait);
        if (n < 0 && errno != EINTR) {
            json f = failure(Code::Failed, errno_text("poll", errno));
            for (const Open& o : open) answers[o.i] = f;
            for (; next < requests.size(); next++) answers[next] = f;
            break;
        }
        auto now = Clock::now();
        std::vector<Open> still;
        for (size_t k = 0; k < open.size(); k++) {
            Open& o = open[k];
            std::optional<std::string> why;
            try {
                if (n > 0 && p[k].revents) {
                    bool more = o.c->read_some();
                    if (auto l = o.c->take_line()) {
                        answers[o.i] = parse_line(*l);
                        continue;
                    }
                    if (!more) why = "dccd closed the connection without an answer";
                }
                if (!why && now >= o.deadline)
                    why = no_answer_within(timeout_ms);
            } catch (const Error& e) {
                why = e.what();
            }
            if (why) answers[o.i] = failure(Code::Failed, *why);
            else still.push_back(std::move(o));
        }
        open = std::move(still);
    }
    return answers;
}

bool stream(const std::string& path, const std::string& request,
            const std::function<bool(const json&)>& on_line, const volatile bool* stop) {
    Conn c(path, request);
    for (;;) {
        if (stop && *stop) return true;
        bool timed_out;
        auto l = c.line(250, timed_out);
        if (timed_out) continue;
        if (!l) {
            if (stop && *stop) return true;
            if (errno == EINTR) continue;
            return false;
        }
        if (!on_line(parse_line(*l))) return true;
    }
}

std::optional<Condition> parse_condition(const std::string& t) {
    using K = Condition::Kind;
    if (t == "paired") return Condition{K::Paired, ""};
    if (t == "hydrated") return Condition{K::Hydrated, ""};
    if (t == "in-sync") return Condition{K::InSync, ""};
    if (t == "split-brain") return Condition{K::SplitBrain, ""};
    if (t == "role=owner" || t == "role=replica") return Condition{K::Role, t.substr(5)};
    if (t.rfind("owner=", 0) == 0 && t.size() > 6 && t.find_first_of(" \t\n") == std::string::npos)
        return Condition{K::Owner, t.substr(6)};
    return std::nullopt;
}

std::optional<std::string> never_met(const Condition& c, const std::string& site,
                                     const std::string& peer) {
    if (c.kind != Condition::Kind::Owner || c.arg == site || peer.empty() || c.arg == peer)
        return std::nullopt;
    return "no site '" + c.arg + "': this one is '" + site + "', its peer '" + peer + "'";
}

bool met(const Condition& c, const json& v, const std::string& site, const std::string& peer) {
    using K = Condition::Kind;
    auto is_true = [&](const char* k) { return v.contains(k) && v[k].is_boolean() && v[k].get<bool>(); };
    auto str = [&](const char* k) {
        return v.contains(k) && v[k].is_string() ? v[k].get<std::string>() : std::string();
    };
    switch (c.kind) {
    case K::Paired: return is_true("paired");
    case K::Hydrated: return is_true("hydrated");
    case K::InSync: return is_true("in_sync");
    case K::SplitBrain: return split_brain(v);
    // The older site of a split brain says owner but serves nothing.
    case K::Role: return str("role") == c.arg && str("handover") == "none" && str("split") != "old";
    case K::Owner:
        // Settled: no handover in progress here, and the pairing agrees.
        if (str("handover") != "none") return false;
        if (c.arg == site) return str("role") == "owner" && str("split") != "old";
        return c.arg == peer && str("role") == "replica" && is_true("paired") &&
               str("peer_role") == "owner";
    }
    return false;
}

bool split_brain(const json& v) {
    return v.contains("split") && v["split"].is_string() && v["split"] != "none";
}

const json* find(const json& status, const std::string& name) {
    if (!status.contains("volumes") || !status["volumes"].is_array()) return nullptr;
    for (const json& v : status["volumes"])
        if (v.contains("name") && v["name"] == name) return &v;
    return nullptr;
}

const char* code_name(Code c) {
    switch (c) {
    case Code::NotFound: return "not-found";
    case Code::Usage: return "usage";
    case Code::Refused: return "refused";
    case Code::Busy: return "busy";
    case Code::NoPeer: return "no-peer";
    case Code::Uncertain: return "uncertain";
    case Code::Failed: return "failed";
    }
    return "failed";
}

std::optional<Code> parse_code(const std::string& name) {
    for (Code c : {Code::NotFound, Code::Usage, Code::Refused, Code::Busy, Code::NoPeer,
                   Code::Uncertain, Code::Failed})
        if (name == code_name(c)) return c;
    return std::nullopt;
}

ExitCode exit_code(Code c) {
    switch (c) {
    case Code::NotFound: return kExitNotFound;
    case Code::Usage: return kExitUsage;
    case Code::Refused:
    case Code::Busy: return kExitRefused;
    case Code::Uncertain: return kExitTimeout;
    case Code::NoPeer:
    case Code::Failed: return kExitError;
    }
    return kExitError;
}

json failure(Code c, const std::string& text) {
    return {{"ok", false}, {"error", text}, {"code", code_name(c)}};
}

ExitCode exit_code_of(const json& a) {
    if (a.contains("code") && a["code"].is_string())
        if (auto c = parse_code(a["code"].get<std::string>())) return exit_code(*c);
    return kExitError;
}

std::string dump(const nlohmann::json& j) {
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace dcc::control
