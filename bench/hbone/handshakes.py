#!/usr/bin/env python3
"""handshakes.py TARGET CERT_DIR ROOT SECONDS WAIT_SETTINGS: full mTLS 1.3 handshakes in a loop
(client certificate CERT_DIR/cert-chain.pem + key.pem, ALPN h2, no session resumption) for
SECONDS. With WAIT_SETTINGS=1 each connection waits for the server's first HTTP/2 frame (an
HBONE server sends SETTINGS once it has accepted our certificate); with 0 it sends 1 KiB and
reads 1 KiB back (a TCP backend behind a TLS-terminating proxy). Prints JSON {handshakes,
failed}. Run by bench/hbone/run.py inside a pod."""
import json
import socket
import ssl
import sys
import time


def main():
    target, certs, root, seconds, wait_settings = sys.argv[1:6]
    host, port = target.rsplit(":", 1)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.check_hostname = False
    ctx.load_verify_locations(root)
    ctx.load_cert_chain(f"{certs}/cert-chain.pem", f"{certs}/key.pem")
    ctx.set_alpn_protocols(["h2"])
    ok = failed = 0
    end = time.monotonic() + float(seconds)
    while time.monotonic() < end and failed < 1000:
        try:
            with socket.create_connection((host, int(port)), timeout=5) as raw:
                with ctx.wrap_socket(raw) as tls:
                    if wait_settings == "1":
                        got = tls.recv(9)
                    else:
                        tls.sendall(b"q" * 1024)
                        got = b""
                        while len(got) < 1024:
                            b = tls.recv(1024 - len(got))
                            if not b:
                                break
                            got += b
                    if got:
                        ok += 1
                    else:
                        failed += 1
        except (OSError, ssl.SSLError):
            failed += 1
    print(json.dumps({"handshakes": ok, "failed": failed}))


if __name__ == "__main__":
    main()
