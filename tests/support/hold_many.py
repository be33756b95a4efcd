#!/usr/bin/env python3
"""hold_many.py --connect HOST:PORT --connections N --seconds S [--interval-ms I]: opens N
connections to a capture_echo server, reads its greeting, then on every connection sends a
line every I ms for S seconds and checks each echo. Prints "ready N" once all are connected,
then one JSON line {"ok": .., "failed": .., "errors": {..}}. Standard library only; bounded."""
import argparse
import asyncio
import collections
import json
import resource
import sys


async def one(host, port, seconds, interval, ready, go, errors, sem):
    try:
        async with sem:  # connect at most 200 at a time
            reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 10)
            await asyncio.wait_for(reader.readline(), 10)  # the greeting: peer=... local=...
    except Exception as e:  # noqa: BLE001 - every failure is counted by kind
        errors[type(e).__name__] += 1
        ready.append(False)
        return False
    ready.append(True)
    await go.wait()
    ok = True
    try:
        for i in range(max(1, int(seconds * 1000 / interval))):
            line = f"ping {i}\n".encode()
            writer.write(line)
            await writer.drain()
            if await asyncio.wait_for(reader.readexactly(len(line)), 10) != line:
                errors["wrong echo"] += 1
                ok = False
                break
            await asyncio.sleep(interval / 1000)
    except Exception as e:  # noqa: BLE001
        errors[type(e).__name__] += 1
        ok = False
    writer.close()
    return ok


async def main(args):
    host, port = args.connect.rsplit(":", 1)
    host = host.strip("[]")
    ready, errors, go = [], collections.Counter(), asyncio.Event()
    sem = asyncio.Semaphore(200)

    tasks = [asyncio.create_task(one(host, int(port), args.seconds, args.interval_ms, ready, go, errors, sem))
             for _ in range(args.connections)]
    for _ in range(600):
        if len(ready) == args.connections:
            break
        await asyncio.sleep(0.05)
    print(f"ready {sum(ready)}", flush=True)
    go.set()
    results = await asyncio.gather(*tasks)
    print(json.dumps({"ok": sum(results), "failed": len(results) - sum(results), "errors": dict(errors)}), flush=True)


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--connect", required=True)
    p.add_argument("--connections", type=int, default=100)
    p.add_argument("--seconds", type=float, default=3)
    p.add_argument("--interval-ms", type=int, default=100)
    a = p.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    sys.exit(asyncio.run(main(a)))
