// SPDX-License-Identifier: GPL-2.0-only
// A status answer (dccd's, or the kernel's view alone) as metrics in the
// Prometheus text exposition format, for node_exporter's textfile
// collector (dccctl metrics --output).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace dcc {

std::string prometheus_text(const nlohmann::json& status);

// Write @text to @path the way a textfile collector needs it: to a
// temporary file beside it, then renamed over it (never read half
// written).  Throws dcc::Error.
void write_atomically(const std::string& path, const std::string& text);

}  // namespace dcc
