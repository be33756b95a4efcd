#pragma once
// Reads meshd.toml into Settings. All errors of a file are returned together, each as a
// Diagnostic ("file:line:col: message"); on any error no Settings are produced, so a caller
// holding running settings keeps them. Thread-safe (pure function of its input).
#include <string>
#include <string_view>

#include <tl/expected.hpp>

#include "daemon/config/diagnostic.hpp"
#include "daemon/config/settings.hpp"

namespace mesh::config {

inline constexpr const char* kDefaultConfigPath = "/etc/meshd/meshd.toml";
inline constexpr size_t kMaxConfigBytes = 1 << 20;

using SettingsResult = tl::expected<Settings, Diagnostics>;

SettingsResult parse_settings(std::string_view text, std::string_view file_name);
SettingsResult load_settings(const std::string& path);

}  // namespace mesh::config
