// SPDX-License-Identifier: GPL-2.0-only
#pragma once

#include <stdexcept>
#include <string>

namespace dcc {

// Exit codes of dccctl; documented in dccctl(8) and asserted by the tests.
enum ExitCode : int {
    kExitOk = 0,
    kExitError = 1,     // the operation failed
    kExitUsage = 2,     // bad command line
    kExitRefused = 3,   // refused to protect data (in use, already formatted, ...)
    kExitNotFound = 4,  // no such volume or device, or no dccd to ask
    kExitTimeout = 5,   // the awaited condition did not come in time
};

// An error with the exit code the CLI should end with and, where there
// was one, the errno that caused it.
class Error : public std::runtime_error {
public:
    Error(ExitCode code, const std::string& what, int err = 0)
        : std::runtime_error(what), code_(code), errno_(err) {}
    ExitCode code() const { return code_; }
    int err() const { return errno_; }

private:
    ExitCode code_;
    int errno_;
};

// "what: strerror(err)"
std::string errno_text(const std::string& what, int err);

}  // namespace dcc
