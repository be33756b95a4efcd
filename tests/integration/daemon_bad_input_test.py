"""Upstreams that refuse or reset, and 10 000 connections at once: every connection is
served or rejected with a counted reason; the daemon never crashes, leaks descriptors or
grows without bound."""
import asyncio
import socket
import time

from harness import EchoServer, Meshd, free_port, raise_fd_limit, relay_config, run_tests, wait_for


def test_a_refusing_upstream_is_counted_and_the_client_closed():
    dead = free_port()
    with Meshd(relay_config("dead", ("127.0.0.1", dead))) as d:
        for _ in range(5):
            with socket.create_connection(d.listener("dead"), timeout=10) as s:
                s.settimeout(10)
                try:
                    assert s.recv(10) == b""
                except ConnectionResetError:
                    raise AssertionError("the client should see a clean close, not a reset")
        wait_for(lambda: d.metric("meshd_connections_rejected_total", listener="dead", reason="upstream_refused") == 5,
                 5, "5 refusals counted")
        assert d.status()["connections"]["active"] == 0


def test_a_resetting_upstream_is_counted_and_reset_downstream():
    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(16)
    with Meshd(relay_config("rst", lsock.getsockname())) as d:
        c = socket.create_connection(d.listener("rst"), timeout=10)
        c.sendall(b"hello")
        conn, _ = lsock.accept()
        assert conn.recv(10) == b"hello"
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        conn.close()  # RST
        c.settimeout(10)
        try:
            data = c.recv(10)
            raise AssertionError(f"expected a reset, got {data!r}")
        except ConnectionResetError:
            pass
        wait_for(lambda: d.metric("meshd_connections_closed_total", listener="rst", reason="upstream_reset") == 1, 5,
                 "upstream reset counted")
    lsock.close()


async def _open_many(addr, count, hold):
    """Opens `count` connections (bounded concurrency), sends a byte on each, and returns
    (served, rejected): served got the byte echoed, rejected were reset or closed."""
    sem = asyncio.Semaphore(1000)
    conns = []

    async def one():
        async with sem:
            try:
                r, w = await asyncio.wait_for(asyncio.open_connection(*addr), 30)
            except ConnectionResetError:
                return "rejected"  # accepted and reset before the connect call returned
            except (OSError, asyncio.TimeoutError):
                return "connect_failed"
            w.write(b"x")
            try:
                data = await asyncio.wait_for(r.read(1), 30)
            except (OSError, asyncio.TimeoutError):
                data = b""
            conns.append(w)
            return "served" if data == b"x" else "rejected"

    results = await asyncio.gather(*(one() for _ in range(count)))
    await asyncio.sleep(hold)
    for w in conns:
        w.close()
    return results


def test_ten_thousand_connections_at_once_are_served_or_rejected_with_a_reason():
    raise_fd_limit()
    up = EchoServer()
    with Meshd(relay_config("flood", up.addr)) as d:
        d.write_config(relay_config("flood", up.addr), 2, runtime="max_connections = 4000\n")
        code, body = d.request("POST", "/v1/reload")
        assert code == 200, body
        base_fds = d.metric("process_open_fds")
        start = time.monotonic()
        results = asyncio.run(_open_many(d.listener("flood"), 10000, hold=0.5))
        elapsed = time.monotonic() - start
        served = results.count("served")
        rejected = results.count("rejected")
        failed = results.count("connect_failed")
        assert d.proc.poll() is None, "meshd died"
        assert served + rejected + failed == 10000
        assert failed == 0, f"{failed} connects failed outright"
        assert served >= 1000, (served, rejected)
        limited = d.metric("meshd_connections_rejected_total", listener="flood", reason="connection_limit")
        assert rejected == limited, (rejected, limited)
        assert d.metric("meshd_connections_opened_total", listener="flood") == served
        wait_for(lambda: d.status()["connections"]["active"] == 0, 30, "all connections closed")
        wait_for(lambda: d.metric("process_open_fds") <= base_fds, 10, "descriptors back to the baseline")
        rss = d.metric("process_resident_memory_bytes")
        assert rss < 128 << 20, f"RSS {rss / 2**20:.1f} MiB after the flood"
        print(f"  10000 connections in {elapsed:.1f}s: {served} served, {rejected} rejected (limit), "
              f"RSS {rss / 2**20:.1f} MiB")
        assert d.stop() == 0
    up.close()


if __name__ == "__main__":
    run_tests([test_a_refusing_upstream_is_counted_and_the_client_closed,
               test_a_resetting_upstream_is_counted_and_reset_downstream,
               test_ten_thousand_connections_at_once_are_served_or_rejected_with_a_reason])
