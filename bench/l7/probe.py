"""Sends one request file N times on one keep-alive connection and prints, as JSON, each
answer's status and size in bytes (head + Content-Length body): the L7 benchmark's check that
a path routes as meant and that its answers have the one size l4_loadgen counts by.
    probe.py HOST PORT REQUEST_FILE [N]"""
import json
import re
import socket
import sys


def main(host, port, path, n=3):
    req = open(path, "rb").read()
    out = {"status": [], "size": []}
    with socket.create_connection((host, int(port)), timeout=5) as s:
        buf = b""
        for _ in range(int(n)):
            s.sendall(req)
            while b"\r\n\r\n" not in buf:
                chunk = s.recv(65536)
                if not chunk:
                    raise SystemExit(json.dumps({**out, "error": "closed"}))
                buf += chunk
            head, buf = buf.split(b"\r\n\r\n", 1)
            m = re.search(rb"(?im)^content-length:\s*(\d+)", head)
            length = int(m.group(1)) if m else 0
            while len(buf) < length:
                chunk = s.recv(65536)
                if not chunk:
                    raise SystemExit(json.dumps({**out, "error": "closed in body"}))
                buf += chunk
            buf = buf[length:]
            out["status"].append(int(head.split()[1]))
            out["size"].append(len(head) + 4 + length)
    print(json.dumps(out))


if __name__ == "__main__":
    main(*sys.argv[1:])
