// SPDX-License-Identifier: GPL-2.0-only
// Status as Prometheus metrics (libctl/include/dcc/metrics.hpp).
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>

#include "dcc/error.hpp"
#include "dcc/metrics.hpp"
#include "dcc/status.hpp"

namespace {

dcc::VolumeStatus owner() {
    dcc::VolumeStatus v;
    v.name = "vm\"1";  // a quote to escape
    v.uuid = "5a5a5a5a-0000-4000-8000-000000000007";
    v.role = "owner";
    v.generation = 3;
    v.mode = "rw";
    v.region_bytes = 65536;
    v.regions = 1024;
    v.valid = 512;
    v.dirty = 7;
    v.misses = 12;
    v.timeouts = 1;
    v.paired = true;
    v.backlog = 100;
    v.replication = dcc::Flow{2, 40, 40 * 65536, 1048576};
    v.hydration = dcc::Flow{8, 512, 512 * 65536, 2097152};
    v.fetch = dcc::Flow{0, 3, 3 * 65536, 0};
    v.last_handover_ms = 250;
    v.fetch_latency = dcc::Histogram{};
    v.fetch_latency->observe(0.004);   // in (2.5 ms, 5 ms]
    v.fetch_latency->observe(0.005);   // the bound itself: same bucket
    v.fetch_latency->observe(0.3);     // (250 ms, 500 ms]
    v.fetch_latency->observe(42);      // above every bound
    return v;
}

// Every line is a comment or "name{labels} value"; each family's HELP and
// TYPE come once, before its samples.  Returns the samples by name+labels.
std::map<std::string, std::string> parse(const std::string& text) {
    std::map<std::string, std::string> out;
    std::map<std::string, int> typed;
    std::regex sample(R"(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-z_]+="([^"\\]|\\.)*",?)*\})? (-?[0-9.e+]+)$)");
    std::istringstream in(text);
    std::string line, family;
    while (std::getline(in, line)) {
        std::smatch m;
        if (line.rfind("# HELP ", 0) == 0) continue;
        if (line.rfind("# TYPE ", 0) == 0) {
            family = line.substr(7, line.find(' ', 7) - 7);
            EXPECT_EQ(typed[family]++, 0) << "TYPE twice for " << family;
            continue;
        }
        EXPECT_TRUE(std::regex_match(line, m, sample)) << "not a sample: " << line;
        if (m.empty()) continue;
        std::string name = m[1].str();
        bool part = name == family + "_bucket" || name == family + "_sum" || name == family + "_count";
        EXPECT_TRUE(name == family || part) << "a sample outside its family: " << line;
        out[line.substr(0, line.rfind(' '))] = m[5].str();
    }
    return out;
}

}  // namespace

TEST(Metrics, DaemonStatus) {
    auto st = dcc::status_answer(std::string("a"), std::string("b"), true, {owner()});
    auto m = parse(dcc::prometheus_text(st));
    EXPECT_EQ(m["dcc_daemon_up"], "1");
    EXPECT_EQ(m["dcc_link_up"], "1");
    EXPECT_EQ(m.count("dcc_witness_up"), 0u) << "no witness configured";
    st["witness"] = "down";
    EXPECT_EQ(parse(dcc::prometheus_text(st))["dcc_witness_up"], "0");
    const std::string l = R"({volume="vm\"1"})";
    EXPECT_EQ(m["dcc_volume_valid_regions" + l], "512");
    EXPECT_EQ(m["dcc_volume_regions" + l], "1024");
    EXPECT_EQ(m["dcc_volume_owner" + l], "1");
    EXPECT_EQ(m["dcc_volume_paired" + l], "1");
    EXPECT_EQ(m["dcc_volume_in_sync" + l], "0");
    EXPECT_EQ(m["dcc_volume_misses_total" + l], "12");
    EXPECT_EQ(m["dcc_volume_last_handover_seconds" + l], "0.25");
    EXPECT_EQ(m[R"(dcc_volume_transfer_bytes_total{volume="vm\"1",transfer="hydration"})"],
              std::to_string(512 * 65536));
    EXPECT_EQ(m[R"(dcc_volume_progress_ratio{volume="vm\"1",transfer="hydration"})"], "0.5");
    // 512 regions of 64 KiB left at 2 MiB/s (pulls; fetches idle): 16 s.
    EXPECT_EQ(m[R"(dcc_volume_eta_seconds{volume="vm\"1",transfer="hydration"})"], "16");
    EXPECT_EQ(m.count(R"(dcc_volume_info{volume="vm\"1",uuid="5a5a5a5a-0000-4000-8000-000000000007",role="owner",mode="rw",replication_mode="async",origin="handover",split="none",lease="none"})"),
              1u);
    EXPECT_EQ(m.count("dcc_volume_held_writes" + l), 0u) << "async: not known, no sample";
}

TEST(Metrics, FetchLatencyHistogramAndStartTime) {
    auto st = dcc::status_answer(std::string("a"), std::string("b"), true, {owner()}, 1796262000.5);
    auto m = parse(dcc::prometheus_text(st));
    EXPECT_EQ(m["dcc_daemon_start_time_seconds"], "1796262000.5") << "counters count from then";
    EXPECT_EQ(m.count("dcc_link_round_trip_seconds"), 0u) << "no round trip measured: no sample";
    auto timed = parse(dcc::prometheus_text(
        dcc::status_answer(std::string("a"), std::string("b"), true, {owner()}, 1796262000.5,
                            dcc::LinkRtt{.smoothed = 2.5, .last = 3, .min = 1.5})));
    EXPECT_DOUBLE_EQ(std::stod(timed["dcc_link_round_trip_seconds"]), 0.0025);
    EXPECT_DOUBLE_EQ(std::stod(timed["dcc_link_round_trip_min_seconds"]), 0.0015);
    const std::string l = R"(dcc_volume_fetch_seconds_bucket{volume="vm\"1",le=")";
    EXPECT_EQ(m[l + R"(0.001"})"], "0");
    EXPECT_EQ(m[l + R"(0.0025"})"], "0");
    EXPECT_EQ(m[l + R"(0.005"})"], "2");
    EXPECT_EQ(m[l + R"(0.25"})"], "2");
    EXPECT_EQ(m[l + R"(0.5"})"], "3") << "cumulative";
    EXPECT_EQ(m[l + R"(10"})"], "3");
    EXPECT_EQ(m[l + R"(+Inf"})"], "4");
    EXPECT_EQ(m[R"(dcc_volume_fetch_seconds_count{volume="vm\"1"})"], "4");
    EXPECT_EQ(std::stod(m[R"(dcc_volume_fetch_seconds_sum{volume="vm\"1"})"]), 0.004 + 0.005 + 0.3 + 42);
    auto j = st["volumes"][0]["fetch_latency"];
    EXPECT_EQ(j["counts"].size(), dcc::Histogram::bounds().size() + 1);
    EXPECT_EQ(j["count"], 4);
}

TEST(Metrics, KernelViewAlone) {
    dcc::VolumeStatus v = owner();
    v.paired.reset();
    v.backlog.reset();
    v.replication.reset();
    v.hydration.reset();
    v.fetch.reset();
    v.fetch_latency.reset();
    auto m = parse(dcc::prometheus_text(dcc::status_answer(std::nullopt, std::nullopt, std::nullopt, {v})));
    EXPECT_EQ(m["dcc_daemon_up"], "0");
    EXPECT_EQ(m.count("dcc_link_up"), 0u);
    EXPECT_EQ(m.count(R"(dcc_volume_paired{volume="vm\"1"})"), 0u);
    EXPECT_EQ(m[R"(dcc_volume_dirty_regions{volume="vm\"1"})"], "7");
    EXPECT_EQ(m.count("dcc_daemon_start_time_seconds"), 0u);
    EXPECT_EQ(m.count(R"(dcc_volume_fetch_seconds_count{volume="vm\"1"})"), 0u);
}

TEST(Metrics, WrittenWhole) {
    std::string path = ::testing::TempDir() + "dcc-metrics.prom";
    dcc::write_atomically(path, "dcc_daemon_up 1\n");
    dcc::write_atomically(path, "dcc_daemon_up 0\n");
    std::ifstream f(path);
    std::stringstream b;
    b << f.rdbuf();
    EXPECT_EQ(b.str(), "dcc_daemon_up 0\n");
    EXPECT_FALSE(std::ifstream(path + ".tmp").good()) << "no temporary file left";
    std::remove(path.c_str());
    EXPECT_THROW(dcc::write_atomically("/nonexistent-dir/x.prom", "x 1\n"), dcc::Error);
}
