#include "daemon/identity/credential_manager.hpp"

#include <fmt/format.h>

#include "daemon/base/log.hpp"
#include "daemon/identity/cert_files.hpp"

namespace mesh::identity {

using base::Errc;
using base::fail;

namespace {
std::vector<FileStamp> stamps_of(const std::string& dir) {
  return {stamp_of(join(dir, kCertChainFile)), stamp_of(join(dir, kKeyFile)), stamp_of(join(dir, kRootCertFile))};
}
}  // namespace

std::string_view to_string(CredentialSource s) {
  return s == CredentialSource::Directory ? "directory" : "builtin_ca";
}

CredentialManager::CredentialManager(const base::Clock& clock, CredentialOptions options)
    : clock_(clock), options_(options) {}

void CredentialManager::set_ca(tunnel::CertificateAuthority ca) { ca_ = std::move(ca); }

base::MonoTime CredentialManager::mono_at(base::WallTime t) const {
  auto delta = t - clock_.wall();
  if (delta < decltype(delta)::zero()) delta = decltype(delta)::zero();
  return clock_.now() + std::chrono::duration_cast<base::Duration>(delta);
}

base::Status CredentialManager::install(Entry& e, const tunnel::Credentials& creds) {
  auto client = tunnel::TlsContext::create(tunnel::TlsRole::Client, creds, clock_);
  if (!client) return fail(client.error());
  auto server = tunnel::TlsContext::create(tunnel::TlsRole::Server, creds, clock_);
  if (!server) return fail(server.error());
  e.contexts = TlsContexts{std::move(*client), std::move(*server)};
  e.info.not_before = creds.not_before();
  e.info.not_after = creds.not_after();
  e.info.serial = creds.serial_hex();
  e.info.generation++;
  e.info.last_error.clear();
  return base::ok();
}

void CredentialManager::note_failure(Entry& e, const base::Error& err, const char* what) {
  e.info.last_error = err.message();
  base::log::warn("failed to {} credentials '{}': {} (keeping the current ones)", what, e.info.id.str(),
                  e.info.last_error);
}

base::Result<tunnel::SpiffeId> CredentialManager::add_directory(const std::string& dir) {
  auto stamps = stamps_of(dir);
  auto creds = load_credentials(dir, clock_.wall());
  if (!creds) return fail(creds.error());
  const tunnel::SpiffeId& id = creds->identity();
  if (entries_.contains(id)) return fail(Errc::Exists, fmt::format("identity '{}' is already configured", id.str()));
  Entry e;
  e.info.id = id;
  e.info.source = CredentialSource::Directory;
  e.info.directory = dir;
  if (auto st = install(e, *creds); !st) return fail(st.error());
  e.info.renew_at = e.info.not_after;
  e.stamps = std::move(stamps);
  e.due = clock_.now() + options_.directory_poll;
  entries_.emplace(id, std::move(e));
  return id;
}

base::Status CredentialManager::renew(Entry& e) {
  auto issued = ca_->issue(e.info.id, clock_.wall(), options_.leaf_validity);
  if (!issued) return fail(issued.error());
  auto creds = tunnel::Credentials::from_pem(issued->cert_chain_pem, issued->key_pem, issued->trust_bundle_pem,
                                             clock_.wall());
  if (!creds) return fail(creds.error());
  if (auto st = install(e, *creds); !st) return st;
  // Renew at half-life (Istio's default grace ratio), counted from now: notBefore is
  // backdated five minutes for clock skew, and counting from it would renew a 10-minute
  // leaf after 2.5 minutes and a leaf of 5 minutes or less at once, again and again.
  base::WallTime from = std::max(e.info.not_before, clock_.wall());
  e.info.renew_at = from + (e.info.not_after - from) / 2;
  e.due = mono_at(e.info.renew_at);
  return base::ok();
}

base::Status CredentialManager::add_issued(const tunnel::SpiffeId& id) {
  if (!ca_) return fail(Errc::Invalid, fmt::format("issue '{}': no built-in CA configured", id.str()));
  if (entries_.contains(id)) return fail(Errc::Exists, fmt::format("identity '{}' is already configured", id.str()));
  Entry e;
  e.info.id = id;
  e.info.source = CredentialSource::BuiltinCa;
  if (auto st = renew(e); !st) return fail(st.error().wrap(fmt::format("issue '{}'", id.str())));
  entries_.emplace(id, std::move(e));
  return base::ok();
}

void CredentialManager::remove(const tunnel::SpiffeId& id) { entries_.erase(id); }

std::optional<TlsContexts> CredentialManager::contexts(const tunnel::SpiffeId& id) const {
  auto it = entries_.find(id);
  if (it == entries_.end()) return std::nullopt;
  return it->second.contexts;
}

base::MonoTime CredentialManager::next_due() const {
  base::MonoTime due = base::MonoTime::max();
  for (const auto& [id, e] : entries_) due = std::min(due, e.due);
  return due;
}

CredentialManager::Outcome CredentialManager::reload_directory(Entry& e) {
  auto stamps = stamps_of(e.info.directory);
  if (stamps == e.stamps) return Outcome::Unchanged;
  auto creds = load_credentials(e.info.directory, clock_.wall());
  base::Status st = creds ? base::ok() : base::Status(fail(creds.error()));
  if (st && creds->identity() != e.info.id) {
    st = fail(Errc::Invalid, fmt::format("the new certificate is for '{}'", creds->identity().str()));
  }
  if (st) st = install(e, *creds);
  if (!st) {
    note_failure(e, st.error(), "reload");
    return Outcome::Failed;
  }
  e.stamps = std::move(stamps);
  e.info.renew_at = e.info.not_after;
  base::log::info("rotated credentials '{}' from '{}' (serial {})", e.info.id.str(), e.info.directory, e.info.serial);
  return Outcome::Rotated;
}

void CredentialManager::count(RefreshResult& r, Outcome o) {
  if (o == Outcome::Rotated) r.rotated++;
  if (o == Outcome::Failed) r.failed++;
}

RefreshResult CredentialManager::refresh() {
  RefreshResult r;
  base::MonoTime now = clock_.now();
  for (auto& [id, e] : entries_) {
    if (e.due > now) continue;
    if (e.info.source == CredentialSource::Directory) {
      e.due = now + options_.directory_poll;
      count(r, reload_directory(e));
      continue;
    }
    base::Status st = ca_ ? renew(e) : base::Status(fail(Errc::Invalid, "no built-in CA configured"));
    if (!st) {
      note_failure(e, st.error(), "renew");
      e.due = now + options_.retry_after_error;
    }
    count(r, st ? Outcome::Rotated : Outcome::Failed);
  }
  return r;
}

RefreshResult CredentialManager::reload() {
  RefreshResult r;
  for (auto& [id, e] : entries_) {
    if (e.info.source == CredentialSource::Directory) count(r, reload_directory(e));
  }
  return r;
}

std::vector<std::string> CredentialManager::watched_directories() const {
  std::vector<std::string> dirs;
  for (const auto& [id, e] : entries_) {
    if (e.info.source == CredentialSource::Directory) dirs.push_back(e.info.directory);
  }
  return dirs;
}

std::vector<IdentityStatus> CredentialManager::status() const {
  std::vector<IdentityStatus> out;
  for (const auto& [id, e] : entries_) out.push_back(e.info);
  return out;
}

}  // namespace mesh::identity
