"""The peers of the L7 benchmark: a 1 KiB nginx origin, and two-hop mTLS HTTP/1.1 chains of
nginx and of HAProxy that route on the same header as meshd's route (x-bench: yes; anything
else is a 404 at the first hop). Config text and certificates only; bench/l7/run.py starts
the processes.

    client ── hop1 (client's pod, 127.0.0.1, plain HTTP/1.1) ══ TLS 1.3, client cert ══
              hop2 (the server node's pod) ── origin on 127.0.0.1:8080

Both talk HTTP/1.1 over TLS between the hops with a keep-alive pool (nginx has no HTTP/2
upstream; HAProxy 2.6 with ALPN h2 between its hops answers HTTP/1.1 clients with an empty
reason phrase, "HTTP/1.1 200 ", which h2load counts as a failed request). Both: one worker process / thread per hop, no logging, P-256 certificates
from a CA of their own (meshctl's leaves carry only a SPIFFE URI, which nginx cannot verify)."""
import os
import subprocess

ORIGIN_PORT = 8080
BODY = 1024
PATH = "/1k"


def pki(d):
    """A P-256 CA and two leaves (hop1: client, hop2: server) with DNS names, via openssl."""
    os.makedirs(d, exist_ok=True)
    run = lambda *a: subprocess.run(["openssl", *a], check=True, capture_output=True, timeout=30)  # noqa: E731
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    run("req", "-x509", *ec, "-keyout", f"{d}/ca.key", "-out", f"{d}/ca.pem", "-days", "2", "-subj", "/CN=bench-ca")
    for name in ("hop1", "hop2"):
        run("req", *ec, "-keyout", f"{d}/{name}.key", "-out", f"{d}/{name}.csr", "-subj", f"/CN={name}.bench")
        ext = f"{d}/{name}.ext"
        with open(ext, "w") as f:
            f.write(f"subjectAltName=DNS:{name}.bench\nextendedKeyUsage=serverAuth,clientAuth\n")
        run("x509", "-req", "-in", f"{d}/{name}.csr", "-CA", f"{d}/ca.pem", "-CAkey", f"{d}/ca.key",
            "-CAcreateserial", "-days", "2", "-out", f"{d}/{name}.crt", "-extfile", ext)
        with open(f"{d}/{name}.pem", "w") as out:  # HAProxy's crt: certificate + key
            out.write(open(f"{d}/{name}.crt").read() + open(f"{d}/{name}.key").read())


NGINX_COMMON = """user root;  # the run's temp dir is 0700
worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
worker_rlimit_nofile 20000;
events {{ worker_connections 12000; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    keepalive_requests 10000000;
    keepalive_timeout 1h;
{body}
}}
"""


def nginx_origin(d):
    """The application: nginx serving a 1 KiB file at /1k (the same config for every path)."""
    os.makedirs(f"{d}/www", exist_ok=True)
    with open(f"{d}/www/1k", "w") as f:
        f.write("x" * (BODY - 1) + "\n")
    body = (f"    server {{\n        listen 0.0.0.0:{ORIGIN_PORT} reuseport;\n        root {d}/www;\n"
            f"        location = {PATH} {{ }}\n    }}")
    return NGINX_COMMON.format(dir=d, body=body)


def nginx_hop1(d, pki_dir, hop2_addr, listen_port):
    body = f"""    upstream hop2 {{ server {hop2_addr}; keepalive 256; keepalive_requests 10000000; keepalive_timeout 1h; }}
    server {{
        listen 127.0.0.1:{listen_port};
        location / {{
            if ($http_x_bench != "yes") {{ return 404; }}
            proxy_pass https://hop2;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_ssl_protocols TLSv1.3;
            proxy_ssl_certificate {pki_dir}/hop1.crt;
            proxy_ssl_certificate_key {pki_dir}/hop1.key;
            proxy_ssl_trusted_certificate {pki_dir}/ca.pem;
            proxy_ssl_verify on;
            proxy_ssl_name hop2.bench;
            proxy_ssl_session_reuse on;
        }}
    }}"""
    return NGINX_COMMON.format(dir=d, body=body)


def nginx_hop2(d, pki_dir, listen_addr):
    body = f"""    upstream origin {{ server 127.0.0.1:{ORIGIN_PORT}; keepalive 256; keepalive_requests 10000000; keepalive_timeout 1h; }}
    server {{
        listen {listen_addr} ssl;
        ssl_protocols TLSv1.3;
        ssl_certificate {pki_dir}/hop2.crt;
        ssl_certificate_key {pki_dir}/hop2.key;
        ssl_client_certificate {pki_dir}/ca.pem;
        ssl_verify_client on;
        location / {{
            proxy_pass http://origin;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }}
    }}"""
    return NGINX_COMMON.format(dir=d, body=body)


HAPROXY_COMMON = """global
    nbthread 1
    maxconn 9000
    ssl-default-bind-options ssl-min-ver TLSv1.3
    ssl-default-server-options ssl-min-ver TLSv1.3
defaults
    mode http
    option http-keep-alive
    http-reuse always
    timeout connect 10s
    timeout client 1h
    timeout server 1h
    timeout http-keep-alive 1h
"""


def haproxy_hop1(pki_dir, hop2_addr, listen_port):
    return HAPROXY_COMMON + f"""frontend hop1
    bind 127.0.0.1:{listen_port}
    http-request return status 404 unless {{ req.hdr(x-bench) -m str yes }}
    default_backend hop2
backend hop2
    server s {hop2_addr} ssl crt {pki_dir}/hop1.pem ca-file {pki_dir}/ca.pem verify required verifyhost hop2.bench sni str(hop2.bench) alpn http/1.1
"""


def haproxy_hop2(pki_dir, listen_addr):
    return HAPROXY_COMMON + f"""frontend hop2
    bind {listen_addr} ssl crt {pki_dir}/hop2.pem ca-file {pki_dir}/ca.pem verify required alpn http/1.1
    default_backend origin
backend origin
    server s 127.0.0.1:{ORIGIN_PORT}
"""
