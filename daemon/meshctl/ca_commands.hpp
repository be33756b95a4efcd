#pragma once
// `meshctl ca`: the built-in CA from the command line.
//   meshctl ca init  --dir DIR [--trust-domain TD] [--validity 8760h] [--force]
//       a new ECDSA P-256 root: DIR/ca-key.pem (0600), DIR/ca-cert.pem, DIR/root-cert.pem
//   meshctl ca issue --ca-dir DIR --identity spiffe://TD/ns/NS/sa/SA --out DIR [--validity 24h]
//       a leaf for one identity: OUT/cert-chain.pem, OUT/key.pem (0600), OUT/root-cert.pem,
//       i.e. a PEM directory the daemon can use as a certificate source.
// Callbacks report failure by throwing CLI::RuntimeError(exit code): 1 for bad input or a
// failed operation. Output goes to stdout, errors to stderr.
#include <CLI/CLI.hpp>

namespace mesh::meshctl {

void add_ca_commands(CLI::App& root);

}  // namespace mesh::meshctl
