#include "daemon/identity/pem_files.hpp"

#include <sys/stat.h>

#include <doctest/doctest.h>

#include <fstream>

#include "tests/support/tls_temp_dir.hpp"

using namespace mesh;
using mesh::testing::TempDir;

TEST_CASE("an atomic write creates the file with the requested mode and replaces it whole") {
  TempDir dir;
  std::string path = dir.sub("key.pem");
  REQUIRE(identity::write_file_atomic(path, "secret", 0600).has_value());
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  auto before = identity::stamp_of(path);
  REQUIRE(identity::write_file_atomic(path, "new secret", 0600).has_value());
  CHECK(*identity::read_file(path) == "new secret");
  CHECK(identity::stamp_of(path) != before);
  CHECK_FALSE(std::filesystem::exists(path + ".tmp"));
}

TEST_CASE("reading refuses missing files, directories and oversized files") {
  TempDir dir;
  auto missing = identity::read_file(dir.sub("nope"));
  REQUIRE_FALSE(missing.has_value());
  CHECK(missing.error().sys_errno() == ENOENT);
  CHECK_FALSE(identity::read_file(dir.path()).has_value());
  {
    std::ofstream big(dir.sub("big"));
    big << std::string(identity::kMaxPemFileSize + 1, 'x');
  }
  auto r = identity::read_file(dir.sub("big"));
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code() == base::Errc::Limit);
}

TEST_CASE("a missing file has an empty stamp and ensure_directory creates parents") {
  TempDir dir;
  CHECK(identity::stamp_of(dir.sub("x")).size == -1);
  REQUIRE(identity::ensure_directory(dir.sub("a/b/c"), 0700).has_value());
  CHECK(std::filesystem::is_directory(dir.sub("a/b/c")));
  REQUIRE(identity::ensure_directory(dir.sub("a/b/c"), 0700).has_value());  // exists: fine
}
