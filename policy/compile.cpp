#include "policy/compile.hpp"

#include <algorithm>
#include <exception>
#include <tuple>

#include <fmt/format.h>

#include "daemon/base/strings.hpp"
#include "policy/compile_internal.hpp"

namespace mesh::policy {

CompiledPolicy::CompiledPolicy(model::PolicySet source, CompileOptions options)
    : source_(std::move(source)), options_(std::move(options)), source_version_(source_.fingerprint) {}

std::string CompiledPolicy::where(SourceLoc loc) const {
  std::string_view file = loc.file < source_.files.size() ? std::string_view(source_.files[loc.file]) : "<policy>";
  return fmt::format("{}:{}:{}", file, loc.line ? loc.line : 1, loc.column ? loc.column : 1);
}

HostRef CompiledPolicy::resolve_host(std::string_view host, std::string_view from_ns) const {
  if (!host.empty() && host.back() == '.') host.remove_suffix(1);
  if (const Service* s = services_.by_host(host)) return {s, nullptr, s->hostname};
  if (host.find('.') == std::string_view::npos) {
    if (const Service* s = services_.by_name(from_ns, host)) return {s, nullptr, s->hostname};
  }
  if (const External* e = externals_.by_host(host)) {
    for (const auto& h : e->spec->hosts)
      if (h.value == host) return {nullptr, e, h.value};
    return {nullptr, e, host};
  }
  return {};
}

namespace detail {

Compiler::Compiler(CompiledPolicy& out, Diagnostics& diags)
    : p_(out), d_(diags), src_(out.source_), opt_(out.options_) {}

void Compiler::run() {
  workloads();
  services();
  externals();
  gateways();
  destinations();
  routes();
  link();
  authorizations();
  peer_authentications();
  p_.telemetry_ = src_.telemetry.value_or(model::Telemetry{});
}

void Compiler::link() {
  for (Service& s : p_.services_.items()) {
    s.route = p_.routes_.for_host(s.hostname);  // including wildcard route hosts
    s.destination = p_.destinations_.for_host(s.hostname);
  }
}

bool Compiler::unique(StringMap<SourceLoc>& seen, const std::string& id, SourceLoc loc, std::string_view kind) {
  auto [it, inserted] = seen.emplace(id, loc);
  if (!inserted) d_.error(loc, fmt::format("duplicate {} '{}'; first defined at {}", kind, id, where(it->second)));
  return inserted;
}

std::vector<uint32_t> Compiler::select(const model::Labels& selector, const std::string* ns) const {
  static const std::vector<uint32_t> kNone;
  if (selector.empty()) {
    if (!ns) {
      std::vector<uint32_t> all(p_.workloads_.all().size());
      for (uint32_t i = 0; i < all.size(); ++i) all[i] = i;
      return all;
    }
    auto it = by_ns_.find(*ns);
    return it == by_ns_.end() ? kNone : it->second;
  }
  // Start from the shortest posting list of the selector's pairs, then check the rest.
  const std::vector<uint32_t>* best = nullptr;
  for (const auto& [k, v] : selector) {
    auto it = by_label_.find(fmt::format("{}/{}={}", ns ? *ns : "*", k, v));
    if (it == by_label_.end()) return kNone;
    if (!best || it->second.size() < best->size()) best = &it->second;
  }
  std::vector<uint32_t> out;
  for (uint32_t w : *best) {
    if (labels_match(selector, p_.workloads_.all()[w].labels)) out.push_back(w);
  }
  return out;
}

HostRef Compiler::resolve(const model::Located<std::string>& host, std::string_view ns, std::string_view what) {
  HostRef ref = p_.resolve_host(host.value, ns);
  if (ref) return ref;
  std::vector<std::string_view> known;
  for (const auto& s : p_.services_.all()) known.push_back(s.hostname);
  for (const auto& e : p_.externals_.all())
    for (const auto& h : e.spec->hosts) known.push_back(h.value);
  std::string message = fmt::format("{}: unknown host '{}' (not a [[service]] or [[external]] host)", what, host.value);
  if (known.size() <= 2000) {  // suggestions cost an edit distance per known host
    std::string fqdn = host.value.find('.') == std::string::npos
                           ? fmt::format("{}.{}.svc.{}", host.value, ns, opt_.cluster_domain)
                           : host.value;
    if (auto near = base::closest_match(fqdn, known)) message += fmt::format("; did you mean '{}'?", *near);
  }
  d_.error(host.loc, std::move(message));
  return {};
}

}  // namespace detail

CompileResult compile(model::PolicySet set, const CompileOptions& options) {
  auto policy = std::make_shared<CompiledPolicy>(std::move(set), options);
  Diagnostics diags(policy->source().files, options.limits.max_errors);
  try {
    detail::Compiler(*policy, diags).run();
  } catch (const std::exception& e) {
    diags.error(SourceLoc{}, fmt::format("internal error while compiling: {}", e.what()));
  }
  CompileResult result;
  if (diags.empty()) {
    result.policy = std::move(policy);
    return result;
  }
  // Deterministic order: by file (in set order), line, column.
  const auto& files = policy->source().files;
  auto file_index = [&](const std::string& f) {
    return static_cast<size_t>(std::find(files.begin(), files.end(), f) - files.begin());
  };
  const bool truncated = diags.full();
  result.errors = diags.take();
  auto end = truncated ? result.errors.end() - 1 : result.errors.end();  // "too many errors" stays last
  std::stable_sort(result.errors.begin(), end, [&](const Diagnostic& a, const Diagnostic& b) {
    return std::tuple(file_index(a.file), a.line, a.column) < std::tuple(file_index(b.file), b.line, b.column);
  });
  return result;
}

}  // namespace mesh::policy
