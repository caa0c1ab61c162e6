// SPDX-License-Identifier: GPL-2.0-only
#include "sealed.hpp"

#include <cstring>
#include <stdexcept>

namespace dcc::core {

namespace {

constexpr uint8_t kMagic[4] = {'D', 'C', 'C', 'S'};
constexpr size_t kA = crypto_secretstream_xchacha20poly1305_ABYTES;

void init_sodium() {
    // Idempotent and thread-safe; -1 only if no source of randomness.
    if (sodium_init() < 0) throw std::runtime_error("libsodium cannot start");
}

void put32(std::vector<uint8_t>& out, uint32_t v) {
    for (int s = 24; s >= 0; s -= 8) out.push_back(uint8_t(v >> s));
}

uint32_t get32(const uint8_t* p) {
    return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3];
}

}  // namespace

SyncSecret SyncSecret::random() {
    init_sodium();
    SyncSecret s;
    randombytes_buf(s.key.data(), s.key.size());
    randombytes_buf(s.token.data(), s.token.size());
    return s;
}

std::vector<uint8_t> SyncSecret::bytes() const {
    std::vector<uint8_t> b(key.begin(), key.end());
    b.insert(b.end(), token.begin(), token.end());
    return b;
}

std::optional<SyncSecret> SyncSecret::of(std::span<const uint8_t> b) {
    if (b.size() != kSyncKeyBytes + kSyncTokenBytes) return std::nullopt;
    SyncSecret s;
    std::memcpy(s.key.data(), b.data(), kSyncKeyBytes);
    std::memcpy(s.token.data(), b.data() + kSyncKeyBytes, kSyncTokenBytes);
    return s;
}

std::vector<uint8_t> sync_hello(const SyncSecret& s, std::span<const uint8_t, kSyncStreamHeader> header) {
    std::vector<uint8_t> b(std::begin(kMagic), std::end(kMagic));
    b.insert(b.end(), s.token.begin(), s.token.end());
    b.insert(b.end(), header.begin(), header.end());
    return b;
}

std::optional<SyncHello> parse_sync_hello(std::span<const uint8_t> b) {
    if (b.size() != kSyncHelloBytes || std::memcmp(b.data(), kMagic, 4)) return std::nullopt;
    SyncHello h;
    std::memcpy(h.token.data(), b.data() + 4, kSyncTokenBytes);
    std::memcpy(h.header.data(), b.data() + 4 + kSyncTokenBytes, kSyncStreamHeader);
    return h;
}

Sealer::Sealer(const std::array<uint8_t, kSyncKeyBytes>& key) {
    init_sodium();
    crypto_secretstream_xchacha20poly1305_init_push(&st_, header_.data(), key.data());
}

void Sealer::seal(std::span<const uint8_t> head, std::span<const uint8_t> data, std::vector<uint8_t>& out) {
    size_t plain = 4 + head.size() + data.size();
    if (plain + kA > kSyncMaxFrame) throw std::length_error("sync frame too large");
    plain_.clear();
    put32(plain_, uint32_t(head.size()));
    plain_.insert(plain_.end(), head.begin(), head.end());
    plain_.insert(plain_.end(), data.begin(), data.end());
    put32(out, uint32_t(plain + kA));
    size_t at = out.size();
    out.resize(at + plain + kA);
    unsigned long long len = 0;
    crypto_secretstream_xchacha20poly1305_push(&st_, out.data() + at, &len, plain_.data(), plain, nullptr,
                                               0, crypto_secretstream_xchacha20poly1305_TAG_MESSAGE);
}

Opener::Opener(const std::array<uint8_t, kSyncKeyBytes>& key,
               const std::array<uint8_t, kSyncStreamHeader>& header) {
    init_sodium();
    if (crypto_secretstream_xchacha20poly1305_init_pull(&st_, header.data(), key.data()))
        error_ = "bad stream header";
}

void Opener::feed(std::span<const uint8_t> bytes) {
    if (failed()) return;
    if (at_ && at_ == in_.size()) {
        in_.clear();
        at_ = 0;
    }
    in_.insert(in_.end(), bytes.begin(), bytes.end());
}

std::optional<Opener::Frame> Opener::next() {
    if (failed() || in_.size() - at_ < 4) return std::nullopt;
    uint32_t len = get32(in_.data() + at_);
    if (len < kA + 4 || len > kSyncMaxFrame) {
        error_ = "frame length " + std::to_string(len) + " out of range";
        return std::nullopt;
    }
    if (in_.size() - at_ - 4 < len) return std::nullopt;
    std::vector<uint8_t> plain(len - kA);
    unsigned long long plen = 0;
    uint8_t tag = 0;
    if (crypto_secretstream_xchacha20poly1305_pull(&st_, plain.data(), &plen, &tag, in_.data() + at_ + 4, len,
                                                   nullptr, 0) ||
        tag != crypto_secretstream_xchacha20poly1305_TAG_MESSAGE) {
        error_ = "a frame does not open (changed, replayed or out of order)";
        return std::nullopt;
    }
    at_ += 4 + len;
    uint32_t head = get32(plain.data());
    if (head > plen - 4) {
        error_ = "header length out of range";
        return std::nullopt;
    }
    Frame f;
    f.head.assign(plain.begin() + 4, plain.begin() + 4 + head);
    f.data.assign(plain.begin() + 4 + head, plain.begin() + long(plen));
    if (at_ > (1u << 20) && at_ * 2 > in_.size()) {  // keep the buffer small
        in_.erase(in_.begin(), in_.begin() + long(at_));
        at_ = 0;
    }
    return f;
}

}  // namespace dcc::core
