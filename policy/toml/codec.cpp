#include "policy/toml/codec.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>
#include <toml++/toml.h>

#include "policy/toml/decode.hpp"
#include "policy/toml/prescan.hpp"
#include "policy/toml/toml_checks.hpp"

namespace mesh::policy {
namespace {

namespace fs = std::filesystem;

std::string fingerprint(std::span<const SourceFile> files) {
  uint64_t h = 1469598103934665603ull;
  auto mix = [&](std::string_view s) {
    for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
    h = (h ^ 0xff) * 1099511628211ull;
  };
  for (const auto& f : files) {
    mix(f.name);
    mix(f.text);
  }
  return fmt::format("{:016x}", h);
}

void decode_one(const SourceFile& f, toml_codec::DecodeContext& ctx, model::PolicySet& set) {
  Diagnostics& diags = ctx.diags;
  if (auto e = toml_codec::prescan(f.text, ctx.limits.max_depth)) {
    diags.error_in_file(f.name, e->line, e->column, std::move(e->message));
    return;
  }
  try {
    toml_codec::reset_toml_check_failures();
    toml::parse_result parsed = toml::parse(std::string_view(f.text), std::string_view(f.name));
    if (!parsed) {
      const toml::parse_error& e = parsed.error();
      diags.error_in_file(f.name, e.source().begin.line, e.source().begin.column, std::string(e.description()));
      return;
    }
    if (toml_codec::toml_check_failures() != 0) {
      diags.error_in_file(f.name, 1, 1, "malformed TOML (the parser's internal checks failed)");
      return;
    }
    toml_codec::decode_document(parsed.table(), ctx, set);
  } catch (const std::exception& e) {  // bad_alloc, or a bug: reported, never thrown through
    diags.error_in_file(f.name, 1, 1, fmt::format("internal error while decoding: {}", e.what()));
  }
}

// Reads one file, bounded by the limit (the size is checked again after reading, in case
// the file grew in between).
void read_file(const std::string& path, const Limits& limits, ReadResult& out, uint64_t& total) {
  auto fail = [&](std::string message) { out.errors.push_back(Diagnostic{path, 1, 1, std::move(message)}); };
  std::error_code ec;
  uint64_t size = fs::file_size(path, ec);
  if (ec) return fail(fmt::format("cannot read: {}", ec.message()));
  if (size > limits.max_file_bytes) {
    return fail(fmt::format("file is {} bytes, over the limit max_file_bytes = {}", size, limits.max_file_bytes));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail("cannot open for reading");
  std::string text(size, '\0');
  in.read(text.data(), static_cast<std::streamsize>(size));
  text.resize(static_cast<size_t>(in.gcount()));
  if (in.bad()) return fail("read error");
  if (in.peek() != std::char_traits<char>::eof()) return fail("file changed while it was read; try again");
  total += text.size();
  if (total > limits.max_total_bytes) {
    return fail(fmt::format("the policy files exceed the limit max_total_bytes = {}", limits.max_total_bytes));
  }
  out.files.push_back(SourceFile{path, std::move(text)});
}

}  // namespace

DecodeResult decode_toml(std::span<const SourceFile> files, const Limits& limits) {
  DecodeResult out;
  for (const auto& f : files) out.set.files.push_back(f.name);
  out.set.fingerprint = fingerprint(files);
  Diagnostics diags(out.set.files, limits.max_errors);
  if (files.size() > limits.max_files) {
    diags.error_in_file(files[limits.max_files].name, 1, 1,
                        fmt::format("more than max_files = {} policy files", limits.max_files));
    out.errors = diags.take();
    return out;
  }
  toml_codec::DecodeContext ctx{diags, limits, 0, 0};
  uint64_t total = 0;
  for (uint32_t i = 0; i < files.size() && !diags.full(); ++i) {
    const SourceFile& f = files[i];
    ctx.file = i;
    if (f.text.size() > limits.max_file_bytes) {
      diags.error_in_file(f.name, 1, 1, fmt::format("file is {} bytes, over the limit max_file_bytes = {}",
                                                    f.text.size(), limits.max_file_bytes));
      continue;
    }
    total += f.text.size();
    if (total > limits.max_total_bytes) {
      diags.error_in_file(f.name, 1, 1, fmt::format("the policy files exceed the limit max_total_bytes = {}",
                                                    limits.max_total_bytes));
      break;
    }
    decode_one(f, ctx, out.set);
  }
  out.errors = diags.take();
  return out;
}

ReadResult read_policy_files(std::span<const std::string> paths, const Limits& limits) {
  ReadResult out;
  uint64_t total = 0;
  for (const std::string& path : paths) {
    std::error_code ec;
    fs::file_status st = fs::status(path, ec);
    if (ec || !fs::exists(st)) {
      out.errors.push_back(Diagnostic{path, 1, 1, fmt::format("cannot read: {}", ec ? ec.message() : "No such file or directory")});
      continue;
    }
    if (!fs::is_directory(st)) {
      read_file(path, limits, out, total);
      continue;
    }
    // Only *.toml directly inside; dotfiles (editor locks, ConfigMap's ..data) are skipped.
    std::vector<std::string> names;
    for (fs::directory_iterator it(path, ec), end; !ec && it != end; it.increment(ec)) {
      std::string name = it->path().filename().string();
      if (name.starts_with('.') || it->path().extension() != ".toml" || !fs::is_regular_file(it->path(), ec)) continue;
      names.push_back(it->path().string());
    }
    if (ec) out.errors.push_back(Diagnostic{path, 1, 1, fmt::format("cannot list directory: {}", ec.message())});
    std::sort(names.begin(), names.end());
    for (const auto& name : names) {
      if (out.files.size() >= limits.max_files) {
        out.errors.push_back(Diagnostic{name, 1, 1, fmt::format("more than max_files = {} policy files", limits.max_files)});
        break;
      }
      read_file(name, limits, out, total);
    }
  }
  return out;
}

CompileResult load_policy_sources(std::span<const SourceFile> files, const CompileOptions& options) {
  DecodeResult decoded = decode_toml(files, options.limits);
  if (!decoded.ok()) return CompileResult{nullptr, std::move(decoded.errors)};
  return compile(std::move(decoded.set), options);
}

CompileResult load_policy(std::span<const std::string> paths, const CompileOptions& options) {
  ReadResult read = read_policy_files(paths, options.limits);
  if (!read.errors.empty()) return CompileResult{nullptr, std::move(read.errors)};
  return load_policy_sources(read.files, options);
}

}  // namespace mesh::policy
