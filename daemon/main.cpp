// SPDX-License-Identifier: GPL-2.0-only
// dccd: the command line (see dccd(8)); daemon.hpp has the daemon.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "daemon.hpp"
#include "dcc/error.hpp"
#include "log.hpp"
#include "witnessd.hpp"
#include "zmq_util.hpp"

#ifndef PR_SET_IO_FLUSHER
#define PR_SET_IO_FLUSHER 57
#endif

namespace {

// dccd keeps two descriptors open per volume (its data device and its
// netlink socket, three for a sync one): the soft limit of open files, 1024 by default, would stop a
// site short of a thousand volumes.  Raised to the hard limit (systemd
// gives services 524288; a lower hard limit is the admin's choice).
void raise_open_files_limit() {
    rlimit r{};
    if (getrlimit(RLIMIT_NOFILE, &r) || r.rlim_cur >= r.rlim_max) return;
    rlim_t was = r.rlim_cur;
    r.rlim_cur = r.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &r))
        dcc::log_warn("cannot raise the open files limit from %llu: %s", (unsigned long long)was, std::strerror(errno));
}

std::string read_file(const std::string& path) {
    std::ifstream f(path);
    if (!f) throw dcc::Error(dcc::kExitNotFound, dcc::errno_text("open " + path, errno), errno);
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
}

// The configuration at @path, its secret key loaded from secret_key_file
// if it names one, and the key pair checked.
dcc::Config load_config(const std::string& path) {
    using namespace dcc;
    Config cfg = parse_config(read_file(path), path);
    if (!cfg.secret_key_file.empty()) {
        const std::string& f = cfg.secret_key_file;
        int fd = open(f.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0 && errno == ELOOP)
            throw Error(kExitUsage, path + ": secret_key_file " + f + " is a symbolic link: name the file itself");
        if (fd < 0) throw Error(kExitNotFound, errno_text(path + ": secret_key_file " + f, errno), errno);
        // Checked and read through the same descriptor.
        struct stat st;
        std::string text;
        char buf[512];
        ssize_t n = 0;
        int e = fstat(fd, &st) ? errno : 0;
        auto why = e ? std::nullopt : key_file_problem(f, st.st_mode, st.st_uid, geteuid());
        while (!e && !why && (n = read(fd, buf, sizeof(buf))) > 0 && text.size() < 4096) text.append(buf, size_t(n));
        if (!e && n < 0) e = errno;
        close(fd);
        if (e) throw Error(kExitError, errno_text("read " + f, e), e);
        if (why) throw Error(kExitUsage, path + ": secret_key_file: " + *why);
        auto key = secret_key_of_file(text);
        if (!key)
            throw Error(kExitUsage, path + ": secret_key_file " + f +
                                        " holds no secret key (the 40-character key alone, or "
                                        "dccd keygen's output)");
        cfg.secret_key = *key;
    } else if (!cfg.insecure) {
        struct stat st;
        if (!stat(path.c_str(), &st) && (st.st_mode & 077))
            log_warn("%s holds the secret key and may be read by others: chmod 600 it, or move "
                     "the key to a secret_key_file",
                     path.c_str());
    }
    if (!cfg.insecure)
        if (auto why = key_pair_mismatch(cfg.secret_key, cfg.public_key, path))
            throw Error(kExitUsage, *why);
    return cfg;
}

int keygen() {
    char pub[41], sec[41];
    if (zmq_curve_keypair(pub, sec)) throw dcc::Error(dcc::kExitError, "cannot make a CURVE key pair");
    std::printf("public_key = \"%s\"\nsecret_key = \"%s\"\n", pub, sec);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    using namespace dcc;
    std::string path;
    bool witness = false, init = false, check = false;
    for (int i = 1; i < argc; i++) {
        std::string a = argv[i];
        if (a == "keygen") return keygen();
        if (a == "--config" && i + 1 < argc) path = argv[++i];
        else if (a == "--witness") witness = true;
        else if (a == "--init") init = true;
        else if (a == "--check") check = true;
        else if (a == "--version") {
            std::printf("dccd %s\n", DCC_VERSION);
            return 0;
        } else {
            std::fprintf(stderr, "usage: dccd [--check] [--config FILE]\n"
                                 "       dccd --witness [--init|--check] [--config FILE]\n"
                                 "       dccd keygen\n");
            return kExitUsage;
        }
    }
    if (init && (!witness || check)) {
        std::fprintf(stderr, "dccd: --init is for a witness, alone (dccd --witness --init)\n");
        return kExitUsage;
    }
    // A key pair that does not match would only show as handshakes refused.
    auto keys = [](const std::string& sec, const std::string& pub, const std::string& origin) {
        if (auto why = key_pair_mismatch(sec, pub, origin)) throw Error(kExitUsage, *why);
    };
    auto checked = [&] {
        std::printf("%s: ok\n", path.c_str());
        return 0;
    };
    if (path.empty()) path = witness ? "/etc/dcc/witness.toml" : "/etc/dcc/dccd.toml";
    try {
        if (witness) {
            WitnessConfig cfg = parse_witness_config(read_file(path), path);
            if (!cfg.insecure) keys(cfg.secret_key, cfg.public_key, path);
            if (check) return checked();
            if (init) {
                init_witness_state(cfg.state_dir);
                std::printf("%s is a witness's state directory now\n", cfg.state_dir.c_str());
                return 0;
            }
            Witnessd w(cfg);
            return w.run();
        }
        Config cfg = load_config(path);
        if (check) return checked();
        // In the I/O path: keep our pages, and let reclaim not wait on us.
        if (prctl(PR_SET_IO_FLUSHER, 1, 0, 0, 0)) log_warn("PR_SET_IO_FLUSHER: %s", std::strerror(errno));
        if (mlockall(MCL_CURRENT | MCL_FUTURE)) log_warn("mlockall: %s", std::strerror(errno));
        raise_open_files_limit();
        log_info("site %s, listening on %s and %s, sync path %s, peer %s%s", cfg.site.c_str(),
                 cfg.listen.c_str(), cfg.listen_bulk.c_str(), cfg.listen_sync.c_str(), cfg.peer.c_str(),
                 cfg.insecure ? " (insecure)" : "");
        dccd::Daemon d(cfg, [path] { return load_config(path); });
        return d.run();
    } catch (const Error& e) {
        log_fatal("%s", e.what());
        return e.code();
    } catch (const std::exception& e) {
        log_fatal("%s", e.what());
        return kExitError;
    }
}
