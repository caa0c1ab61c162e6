// SPDX-License-Identifier: GPL-2.0-only
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <thread>

#include "dcc/control.hpp"
#include "dcc/error.hpp"

using namespace dcc::control;
using nlohmann::json;

namespace {

json vol(const std::string& role, bool paired, const std::string& peer_role,
         const std::string& handover = "none") {
    return {{"name", "vm1"},   {"role", role},          {"paired", paired},
            {"peer_role", peer_role.empty() ? json(nullptr) : json(peer_role)},
            {"hydrated", true}, {"in_sync", nullptr},    {"handover", handover}};
}

// A listening socket on a fresh path (@path), or -1.
int listening(std::string& path) {
    char tmpl[] = "/tmp/dcc-ctl-XXXXXX";
    path = std::string(mkdtemp(tmpl)) + "/s";
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::strcpy(sa.sun_path, path.c_str());
    if (bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) || listen(fd, 8)) {
        close(fd);
        return -1;
    }
    return fd;
}

// A one-shot server on a fresh socket path that answers @answer.
struct FakeDaemon {
    std::string path;
    std::thread t;
    std::string got;
    explicit FakeDaemon(std::string answer) {
        int fd = listening(path);
        EXPECT_GE(fd, 0);
        t = std::thread([this, fd, answer] {
            int c = accept(fd, nullptr, nullptr);
            char b[256];
            ssize_t n = read(c, b, sizeof(b));
            if (n > 0) got.assign(b, size_t(n));
            if (write(c, answer.data(), answer.size()) < 0) {}
            close(c);
            close(fd);
        });
    }
    ~FakeDaemon() {
        t.join();
        unlink(path.c_str());
    }
};

}  // namespace

TEST(Condition, Parse) {
    EXPECT_EQ(parse_condition("paired")->kind, Condition::Kind::Paired);
    EXPECT_EQ(parse_condition("in-sync")->kind, Condition::Kind::InSync);
    EXPECT_EQ(parse_condition("role=replica")->arg, "replica");
    EXPECT_EQ(parse_condition("owner=b")->arg, "b");
    EXPECT_FALSE(parse_condition("owner="));
    EXPECT_FALSE(parse_condition("role=boss"));
    EXPECT_FALSE(parse_condition("insync"));
    EXPECT_FALSE(parse_condition(""));
}

// wait owner=X for a site that is neither this one nor its peer would
// only time out; once the peer's name is known it is refused at once.
TEST(Condition, OwnerOfNoSiteIsNeverMet) {
    auto owner = [](const char* s) { return *parse_condition(std::string("owner=") + s); };
    EXPECT_FALSE(never_met(owner("a"), "a", "b"));
    EXPECT_FALSE(never_met(owner("b"), "a", "b"));
    EXPECT_FALSE(never_met(owner("c"), "a", "")) << "the peer's name is not known yet";
    auto why = never_met(owner("c"), "a", "b");
    ASSERT_TRUE(why);
    EXPECT_EQ(*why, "no site 'c': this one is 'a', its peer 'b'");
    EXPECT_FALSE(never_met(*parse_condition("paired"), "a", "b"));
}

TEST(Condition, OwnerIsSettledOnBothSides) {
    auto here = *parse_condition("owner=a");
    auto there = *parse_condition("owner=b");
    EXPECT_TRUE(met(here, vol("owner", true, "replica"), "a", "b"));
    EXPECT_FALSE(met(here, vol("owner", true, "replica", "sending"), "a", "b"));
    EXPECT_FALSE(met(there, vol("owner", true, "replica"), "a", "b"));
    EXPECT_TRUE(met(there, vol("replica", true, "owner"), "a", "b"));
    // Fenced or not paired: the peer's ownership is not known yet.
    EXPECT_FALSE(met(there, vol("replica", false, ""), "a", "b"));
    EXPECT_FALSE(met(there, vol("replica", true, "owner", "fenced"), "a", "b"));
    EXPECT_FALSE(met(*parse_condition("owner=c"), vol("replica", true, "owner"), "a", "b"));
}

TEST(Condition, InSyncNullIsNotMet) {
    auto c = *parse_condition("in-sync");
    json v = vol("replica", true, "owner");
    EXPECT_FALSE(met(c, v, "a", "b"));
    v["in_sync"] = true;
    EXPECT_TRUE(met(c, v, "a", "b"));
    EXPECT_TRUE(met(*parse_condition("hydrated"), v, "a", "b"));
    EXPECT_TRUE(met(*parse_condition("role=replica"), v, "a", "b"));
}

TEST(Control, FindsAVolume) {
    json st = {{"volumes", {vol("owner", true, "replica")}}};
    EXPECT_NE(find(st, "vm1"), nullptr);
    EXPECT_EQ(find(st, "vm2"), nullptr);
    EXPECT_EQ(find(json::object(), "vm1"), nullptr);
}

TEST(Control, AskSendsALineAndParsesTheAnswer) {
    FakeDaemon d("{\"ok\": true, \"site\": \"a\"}\n");
    json j = ask(d.path, "status vm1", 2000);
    EXPECT_EQ(j["site"], "a");
    d.t.join();
    d.t = std::thread([] {});
    EXPECT_EQ(d.got, "status vm1\n");
}

// ask_each: every request on a connection of its own, all at once (the
// server here answers only once it holds all four, last first), each
// answer in its request's place; one that gets no proper answer gets a
// failure saying why, and the others theirs.
TEST(Control, AskEachAsksAllAtOnceAndKeepsTheOrder) {
    std::string path;
    int fd = listening(path);
    ASSERT_GE(fd, 0);
    std::thread server([fd] {
        std::vector<std::pair<int, std::string>> conns;
        while (conns.size() < 4) {
            int c = accept(fd, nullptr, nullptr);
            char b[256];
            ssize_t n = read(c, b, sizeof(b));
            conns.push_back({c, n > 0 ? std::string(b, size_t(n) - 1) : ""});
        }
        for (auto it = conns.rbegin(); it != conns.rend(); ++it) {
            std::string a = it->second == "migrate vm3 b" ? "garbled\n"
                            : it->second == "migrate vm4 b" ? ""
                                                            : "{\"ok\":true,\"said\":\"" + it->second + "\"}\n";
            if (write(it->first, a.data(), a.size()) < 0) {}
            close(it->first);
        }
        close(fd);
    });
    std::vector<json> a = ask_each(path, {"migrate vm1 b", "migrate vm2 b", "migrate vm3 b", "migrate vm4 b"},
                                   5000, 4);
    server.join();
    unlink(path.c_str());
    ASSERT_EQ(a.size(), 4u);
    EXPECT_EQ(a[0]["said"], "migrate vm1 b");
    EXPECT_EQ(a[1]["said"], "migrate vm2 b");
    EXPECT_EQ(a[2]["ok"], false);
    EXPECT_NE(a[2].value("error", "").find("garbled"), std::string::npos) << a[2].dump();
    EXPECT_EQ(a[3]["ok"], false);
    EXPECT_NE(a[3].value("error", "").find("without an answer"), std::string::npos) << a[3].dump();
    // No dccd: each gets a failure, nothing throws.
    std::vector<json> none = ask_each("/nonexistent/dccd.sock", {"a", "b"}, 100, 8);
    ASSERT_EQ(none.size(), 2u);
    EXPECT_EQ(none[1]["ok"], false);
}

// ask_each keeps at most @parallel connections open, opens the next as
// one is answered, and gives up on one that is not answered in time.
TEST(Control, AskEachKeepsToItsLimitAndTimesOut) {
    std::string path;
    int fd = listening(path);
    ASSERT_GE(fd, 0);
    std::vector<std::string> seen;
    bool third_early = false, slow_closed = false;
    // Every wait of the server is bounded: a client that does not behave
    // fails the test instead of hanging it.
    auto accept_within = [fd](int ms) {
        pollfd l{fd, POLLIN, 0};
        return poll(&l, 1, ms) == 1 ? accept(fd, nullptr, nullptr) : -1;
    };
    std::thread server([&] {
        auto take = [&](int c) {
            char b[256];
            ssize_t n = c < 0 ? -1 : read(c, b, sizeof(b));
            seen.push_back(n > 0 ? std::string(b, size_t(n) - 1) : "");
        };
        std::string ans = "{\"ok\":true}\n";
        int slow = accept_within(5000);
        take(slow);
        int a = accept_within(5000);
        take(a);
        // Two are open: a third must not come before one is answered.
        int early = accept_within(100);
        third_early = early >= 0;
        if (early >= 0) close(early);
        if (a >= 0 && write(a, ans.data(), ans.size()) < 0) {}
        if (a >= 0) close(a);
        int b = accept_within(5000);
        take(b);
        if (b >= 0 && write(b, ans.data(), ans.size()) < 0) {}
        if (b >= 0) close(b);
        // "slow" is never answered: the client gives up and closes it.
        pollfd p{slow, POLLIN, 0};
        char c;
        slow_closed = slow >= 0 && poll(&p, 1, 5000) == 1 && read(slow, &c, 1) == 0;
        if (slow >= 0) close(slow);
        close(fd);
    });
    std::vector<json> r = ask_each(path, {"slow", "a", "b"}, 1500, 2);
    server.join();
    unlink(path.c_str());
    EXPECT_FALSE(third_early) << "a third connection while two were open";
    EXPECT_EQ(seen, (std::vector<std::string>{"slow", "a", "b"}));
    ASSERT_EQ(r.size(), 3u);
    EXPECT_EQ(r[0]["ok"], false);
    EXPECT_NE(r[0].value("error", "").find("no answer from dccd within 1500 ms"), std::string::npos) << r[0].dump();
    EXPECT_EQ(r[1]["ok"], true);
    EXPECT_EQ(r[2]["ok"], true);
    EXPECT_TRUE(slow_closed) << "the unanswered connection was not closed";
}

TEST(Control, GarbledOrMissingAnswersAreErrors) {
    {
        FakeDaemon d("not json\n");
        EXPECT_THROW(ask(d.path, "status", 2000), dcc::Error);
    }
    {
        FakeDaemon d("");
        EXPECT_THROW(ask(d.path, "status", 2000), dcc::Error);
    }
    try {
        ask("/nonexistent/dccd.sock", "status", 100);
        FAIL();
    } catch (const dcc::Error& e) {
        EXPECT_EQ(e.code(), dcc::kExitNotFound);
    }
}

TEST(Control, DumpReplacesBytesThatAreNotUtf8) {
    json j = {{"volume", std::string("vm\xff\xfe", 4)}, {"n", 3}};
    EXPECT_THROW((void)j.dump(), json::type_error);  // what dump() would have done
    std::string s = dump(j);
    EXPECT_EQ(json::parse(s)["n"], 3);
    EXPECT_EQ(json::parse(s)["volume"], "vm\xEF\xBF\xBD\xEF\xBF\xBD");  // two U+FFFD
}

// dccd's failed answers carry a code; dccctl's exit code follows from it
// alone, whatever the English text says.
TEST(Control, FailureCodesMapToExitCodes) {
    using dcc::control::Code;
    struct {
        Code c;
        dcc::ExitCode e;
        const char* name;
    } rows[] = {{Code::NotFound, dcc::kExitNotFound, "not-found"},
                {Code::Usage, dcc::kExitUsage, "usage"},
                {Code::Refused, dcc::kExitRefused, "refused"},
                {Code::Busy, dcc::kExitRefused, "busy"},
                {Code::NoPeer, dcc::kExitError, "no-peer"},
                {Code::Uncertain, dcc::kExitTimeout, "uncertain"},
                {Code::Failed, dcc::kExitError, "failed"}};
    for (auto r : rows) {
        nlohmann::json a = dcc::control::failure(r.c, "no dcc volume 'x' here");
        EXPECT_EQ(a["ok"], false);
        EXPECT_EQ(a["code"], r.name);
        EXPECT_EQ(dcc::control::exit_code_of(a), r.e) << r.name;
        EXPECT_EQ(dcc::control::parse_code(r.name), r.c);
    }
    EXPECT_EQ(dcc::control::exit_code_of({{"ok", false}, {"error", "no dcc volume"}}), dcc::kExitError)
        << "no code: a plain failure, whatever the text";
    EXPECT_EQ(dcc::control::exit_code_of({{"ok", false}, {"code", "from-the-future"}}), dcc::kExitError);
}
