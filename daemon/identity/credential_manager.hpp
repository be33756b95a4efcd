#pragma once
// CredentialManager: the TLS identities of the workloads on this node. For each local
// identity it holds the current client and server TlsContext, built from either
//   - a PEM directory (cert-chain.pem, key.pem, root-cert.pem; see cert_files.hpp) written by
//     something else (cert-manager, SPIRE, `meshctl ca issue`), re-read when its files
//     change, or
//   - the built-in CA (set_ca()): a short-lived leaf issued here and renewed at half-life.
// Rotation never touches existing connections: sessions keep the context they started with;
// contexts() simply returns the new ones afterwards. A reload whose files are invalid (half
// written, mismatched key, expired, foreign CA) keeps the previous credentials and records
// the error in status().
//
// No threads and no timers: the daemon calls refresh() when next_due() has passed and
// reload() when inotify reports a change. All times come from the injected Clock.
// Control-thread only; the daemon publishes contexts() to its workers as it sees fit.
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "daemon/base/clock.hpp"
#include "daemon/base/result.hpp"
#include "daemon/identity/pem_files.hpp"
#include "tunnel/tls/certificate_authority.hpp"
#include "tunnel/tls/tls_context.hpp"

namespace mesh::identity {

struct CredentialOptions {
  base::Duration leaf_validity = std::chrono::hours(24);  // built-in CA leaves
  base::Duration directory_poll = std::chrono::seconds(60);  // re-check even without inotify
  base::Duration retry_after_error = std::chrono::seconds(30);  // after a failed renewal
};

enum class CredentialSource : uint8_t { Directory, BuiltinCa };

struct IdentityStatus {
  tunnel::SpiffeId id;
  CredentialSource source;
  std::string directory;      // Directory sources
  base::WallTime not_before;  // of the credentials in use
  base::WallTime not_after;
  base::WallTime renew_at;    // BuiltinCa: half-life; Directory: notAfter (renewal is external)
  std::string serial;
  uint64_t generation = 0;    // 1 after the first load, +1 per rotation
  std::string last_error;     // of the last failed reload or renewal; "" once one succeeds
};

using tunnel::TlsContexts;

struct RefreshResult {
  size_t rotated = 0;  // identities now using new credentials
  size_t failed = 0;   // identities whose reload or renewal failed (old credentials kept)
};

class CredentialManager {
 public:
  CredentialManager(const base::Clock& clock, CredentialOptions options = {});

  // Enables add_issued(). Identities already issued keep their leaves until renewal.
  void set_ca(tunnel::CertificateAuthority ca);
  // Loads a PEM directory now; the identity is the certificate's SPIFFE ID.
  base::Result<tunnel::SpiffeId> add_directory(const std::string& dir);
  // Issues a leaf for `id` from the built-in CA now.
  base::Status add_issued(const tunnel::SpiffeId& id);
  void remove(const tunnel::SpiffeId& id);

  // The contexts new connections of `id` should use, or nullopt for an unknown identity.
  std::optional<TlsContexts> contexts(const tunnel::SpiffeId& id) const;

  // The earliest moment refresh() has work to do (MonoTime::max() when there is none).
  base::MonoTime next_due() const;
  // Renews built-in CA leaves past half-life and re-checks directories whose poll is due.
  RefreshResult refresh();
  // Re-checks every directory now (an inotify event); unchanged files are not re-parsed.
  RefreshResult reload();
  // Directories to watch for changes.
  std::vector<std::string> watched_directories() const;

  std::vector<IdentityStatus> status() const;

 private:
  struct Entry {
    IdentityStatus info;
    TlsContexts contexts;
    base::MonoTime due;
    std::vector<FileStamp> stamps;  // Directory: the files as last loaded
  };
  enum class Outcome : uint8_t { Unchanged, Rotated, Failed };
  base::Status install(Entry& e, const tunnel::Credentials& creds);
  base::Status renew(Entry& e);
  Outcome reload_directory(Entry& e);  // re-reads only when a file's stamp changed
  static void count(RefreshResult& r, Outcome o);
  base::MonoTime mono_at(base::WallTime t) const;
  void note_failure(Entry& e, const base::Error& err, const char* what);

  const base::Clock& clock_;
  CredentialOptions options_;
  std::optional<tunnel::CertificateAuthority> ca_;
  std::map<tunnel::SpiffeId, Entry> entries_;
};

std::string_view to_string(CredentialSource s);

}  // namespace mesh::identity
