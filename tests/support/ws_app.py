#!/usr/bin/python3
"""WebSocket peers we did not write (Debian's python3-websockets), for the L7 tests; run with
/usr/bin/python3 (the pyenv python3 on PATH does not see Debian's packages).

  ws_app.py serve --port P            echo server on 0.0.0.0:P; prints "ready"; each message back as
                                      "echo:<message>"
  ws_app.py client URL --count N      sends N messages, prints one JSON line: {"status": 101 or
                                      the refusal's HTTP status, "echoed": [true/false per message]}
Every wait is bounded (5 s)."""
import argparse
import asyncio
import json
import sys

import websockets


async def serve(port):
    async def echo(ws, path=None):
        async for message in ws:
            await ws.send(f"echo:{message}")

    async with websockets.serve(echo, "0.0.0.0", port):
        print("ready", flush=True)
        await asyncio.Future()


async def client(url, count):
    out = {"status": None, "echoed": []}
    try:
        async with websockets.connect(url, open_timeout=5, close_timeout=2) as ws:
            out["status"] = 101
            for i in range(count):
                msg = f"message {i} " + "x" * (i * 1000)
                await ws.send(msg)
                got = await asyncio.wait_for(ws.recv(), 5)
                out["echoed"].append(got == f"echo:{msg}")
    except websockets.exceptions.InvalidStatusCode as e:
        out["status"] = e.status_code
    except Exception as e:  # noqa: BLE001 - reported to the test as data
        out["error"] = f"{type(e).__name__}: {e}"
    print(json.dumps(out), flush=True)


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve")
    s.add_argument("--port", type=int, required=True)
    c = sub.add_parser("client")
    c.add_argument("url")
    c.add_argument("--count", type=int, default=3)
    a = ap.parse_args()
    if a.cmd == "serve":
        asyncio.run(serve(a.port))
    else:
        asyncio.run(client(a.url, a.count))


if __name__ == "__main__":
    sys.exit(main())
