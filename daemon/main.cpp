// meshd: the node daemon. Parses the command line, reads the configuration, checks that
// io_uring is usable, then hands over to App.
//   exit 0: clean shutdown (or --check-config passed); 1: could not start; 2: invalid config.
#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include <CLI/CLI.hpp>

#include "daemon/app/app.hpp"
#include "daemon/base/log.hpp"
#include "daemon/base/version.hpp"
#include "daemon/config/settings_loader.hpp"
#include "daemon/io/probe.hpp"

using namespace mesh;

namespace {

config::SettingsResult load(const std::string& path, bool explicit_path) {
  if (!explicit_path && !std::filesystem::exists(path)) {
    return config::parse_settings("", "");  // no file at the default path: built-in defaults
  }
  return config::load_settings(path);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{"meshd: sidecarless service-mesh data plane (one daemon per node)"};
  std::string config_path = config::kDefaultConfigPath;
  bool check_only = false, version = false;
  std::string log_level;
  auto* config_opt = cli.add_option("-c,--config", config_path, "daemon settings (TOML)");
  cli.add_flag("--check-config", check_only, "validate the configuration and exit (0 valid, 2 invalid)");
  cli.add_flag("--version", version, "print the version and exit");
  cli.add_option("--log-level", log_level, "override runtime.log_level (debug, info, warn, error)");
  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return cli.exit(e);
  }
  if (version) {
    std::printf("meshd %s (%s)\n", base::kVersion, base::kRevision);
    return 0;
  }
  bool explicit_path = config_opt->count() > 0;
  auto settings = load(config_path, explicit_path);
  if (!settings) {
    for (const auto& d : settings.error()) std::fprintf(stderr, "%s\n", d.to_string().c_str());
    std::fprintf(stderr, "meshd: invalid configuration (%zu error%s)\n", settings.error().size(),
                 settings.error().size() == 1 ? "" : "s");
    return 2;
  }
  if (!log_level.empty()) {
    auto lvl = base::log::parse_level(log_level);
    if (!lvl) {
      std::fprintf(stderr, "meshd: unknown log level '%s'\n", log_level.c_str());
      return 2;
    }
    settings->runtime.log_level = *lvl;
  }
  if (check_only) {
    std::printf("%s: configuration is valid\n", settings->source.empty() ? "(built-in defaults)" : settings->source.c_str());
    return 0;
  }
  base::log::set_level(settings->runtime.log_level);
  auto probe = io::probe_io_uring();
  if (!probe) {
    base::log::error("cannot start: {}", probe.error().message());
    return 1;
  }
  for (const auto& note : probe->notes) base::log::warn("io_uring: {}", note);
  uint64_t fds = app::raise_open_file_limit(settings->runtime.max_open_files);
  base::log::debug("open file limit: {}", fds);

  std::string source = settings->source;
  auto app = app::App::create(std::move(*settings), app::AppOptions{source, *probe});
  if (!app) {
    base::log::error("cannot start: {}", app.error().message());
    return app.error().code() == base::Errc::Invalid ? 2 : 1;  // 2: invalid configuration or policy
  }
  return (*app)->run();
}
