// SPDX-License-Identifier: GPL-2.0-only
// The byte stream of the sync path (docs/protocol.md, "The sync path"): a
// TCP connection that carries an owner's SYNC_WRITEs and its replica's
// SYNC_ACKs without ZeroMQ's I/O threads.  Its key comes over the CURVE
// link (SYNC_OPEN_ACK) and is used for one connection; each direction is
// a libsodium secretstream (XChaCha20-Poly1305), so that a frame that was
// changed, dropped, replayed or moved fails to open.
//
//   connector -> listener: "DCCS", the token (16 bytes), its stream header (24)
//   listener -> connector: its stream header (24)
//   then frames either way: u32 length (big-endian), that many bytes of
//   ciphertext of { u32 header length, a wire header, the data }
//
// Pure: no sockets here (daemon/synclink.* moves the bytes).
#pragma once

#include <sodium.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace dcc::core {

constexpr size_t kSyncKeyBytes = crypto_secretstream_xchacha20poly1305_KEYBYTES;
constexpr size_t kSyncTokenBytes = 16;
constexpr size_t kSyncStreamHeader = crypto_secretstream_xchacha20poly1305_HEADERBYTES;
constexpr size_t kSyncHelloBytes = 4 + kSyncTokenBytes + kSyncStreamHeader;
// The largest frame: a region's data, a header and the frame's own bytes.
constexpr size_t kSyncMaxFrame = (1u << 20) + 4096;

// What SYNC_OPEN_ACK carries: the key of one connection, and the token the
// connector shows in its hello so that the listener finds that key.
struct SyncSecret {
    std::array<uint8_t, kSyncKeyBytes> key{};
    std::array<uint8_t, kSyncTokenBytes> token{};
    static SyncSecret random();
    std::vector<uint8_t> bytes() const;                       // key, then token
    static std::optional<SyncSecret> of(std::span<const uint8_t> b);  // exact size
};

// A connector's hello, and the token it names (nullopt: not a hello).
std::vector<uint8_t> sync_hello(const SyncSecret& s, std::span<const uint8_t, kSyncStreamHeader> header);
struct SyncHello {
    std::array<uint8_t, kSyncTokenBytes> token{};
    std::array<uint8_t, kSyncStreamHeader> header{};
};
std::optional<SyncHello> parse_sync_hello(std::span<const uint8_t> b);

// One direction's sending side.
class Sealer {
public:
    explicit Sealer(const std::array<uint8_t, kSyncKeyBytes>& key);
    ~Sealer() { sodium_memzero(&st_, sizeof(st_)); }
    Sealer(const Sealer&) = delete;
    Sealer& operator=(const Sealer&) = delete;
    const std::array<uint8_t, kSyncStreamHeader>& header() const { return header_; }
    // Append the frame of @head and @data to @out.
    void seal(std::span<const uint8_t> head, std::span<const uint8_t> data, std::vector<uint8_t>& out);

private:
    crypto_secretstream_xchacha20poly1305_state st_{};
    std::array<uint8_t, kSyncStreamHeader> header_{};
    std::vector<uint8_t> plain_;
};

// One direction's receiving side: bytes in as they come, messages out.
// Once a frame fails, every later call fails with the same reason.
class Opener {
public:
    Opener(const std::array<uint8_t, kSyncKeyBytes>& key,
           const std::array<uint8_t, kSyncStreamHeader>& header);
    ~Opener() { sodium_memzero(&st_, sizeof(st_)); }
    Opener(const Opener&) = delete;
    Opener& operator=(const Opener&) = delete;
    void feed(std::span<const uint8_t> bytes);
    struct Frame {
        std::vector<uint8_t> head, data;
    };
    // The next whole frame; nullopt if none is complete yet or if failed()
    // (then error() says why).
    std::optional<Frame> next();
    bool failed() const { return !error_.empty(); }
    const std::string& error() const { return error_; }

private:
    crypto_secretstream_xchacha20poly1305_state st_{};
    std::vector<uint8_t> in_;
    size_t at_ = 0;  // first byte of in_ not yet taken
    std::string error_;
};

}  // namespace dcc::core
