#!/usr/bin/python3
"""h2_app: the HTTP/2 and gRPC applications and the gRPC client of meshd_l7_test, built on
libraries we did not write: Debian's python3-h2 and python3-grpcio (so it runs under
/usr/bin/python3, which sees Debian's packages). Servers listen on [::]:PORT (dual-stack)
and print "ready".

    h2_app.py h2c --port P --log FILE
        h2c with prior knowledge (python3-h2). Every request is appended to FILE as one JSON
        line {method, path, headers: [[name, value], ...], peer, body_bytes} and answered 200
        with a JSON body {method, path, headers}; except /public/reset, answered with a
        response head and then RST_STREAM ENHANCE_YOUR_CALM (0xb).
    h2_app.py grpc --port P --log FILE
        gRPC (python3-grpcio, raw bytes, no protobuf): /shop.Cart/Get (unary: "answer:" +
        the request), /shop.Cart/List (server streaming: five messages "item-0".."item-4"),
        /shop.Cart/Secret (unary; the policy denies it, so it should never run). Each call is
        appended to FILE as {method, metadata}.
    h2_app.py call ADDR METHOD [--data TEXT] [--stream]
        One gRPC call; prints JSON {code, details, responses} (code as its number).
Every wait is bounded (--timeout, default 10 s)."""
import argparse
import json
import socket
import sys
import threading


def log_line(path, obj):
    with open(path, "a") as f:
        f.write(json.dumps(obj) + "\n")


def h2c(args):
    import h2.config
    import h2.connection
    import h2.errors
    import h2.events

    def serve(conn, peer):
        c = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=False, header_encoding="utf-8"))
        c.initiate_connection()
        conn.sendall(c.data_to_send())
        heads, sizes = {}, {}
        conn.settimeout(30)
        try:
            while True:
                data = conn.recv(65536)
                if not data:
                    return
                for ev in c.receive_data(data):
                    if isinstance(ev, h2.events.RequestReceived):
                        heads[ev.stream_id] = list(ev.headers)
                        sizes[ev.stream_id] = 0
                    elif isinstance(ev, h2.events.DataReceived):
                        sizes[ev.stream_id] = sizes.get(ev.stream_id, 0) + len(ev.data)
                        c.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
                    if isinstance(ev, h2.events.StreamEnded):
                        sid = ev.stream_id
                        hdrs = heads.get(sid, [])
                        pseudo = {k: v for k, v in hdrs if k.startswith(":")}
                        plain = [[k, v] for k, v in hdrs if not k.startswith(":")]
                        rec = {"method": pseudo.get(":method"), "path": pseudo.get(":path"), "headers": plain,
                               "peer": f"{peer[0]}:{peer[1]}", "body_bytes": sizes.get(sid, 0)}
                        log_line(args.log, rec)
                        if rec["path"] == "/public/reset":
                            c.send_headers(sid, [(":status", "200")])
                            c.reset_stream(sid, error_code=h2.errors.ErrorCodes.ENHANCE_YOUR_CALM)
                        else:
                            body = json.dumps({k: rec[k] for k in ("method", "path", "headers")}).encode()
                            c.send_headers(sid, [(":status", "200"), ("content-type", "application/json"),
                                                 ("content-length", str(len(body)))])
                            c.send_data(sid, body, end_stream=True)
                out = c.data_to_send()
                if out:
                    conn.sendall(out)
        except (OSError, Exception):  # a reset or a protocol error ends this connection only
            return
        finally:
            conn.close()

    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.bind(("::", args.port))
    s.listen(64)
    print("ready", flush=True)
    while True:
        conn, peer = s.accept()
        threading.Thread(target=serve, args=(conn, peer), daemon=True).start()


def grpc_server(args):
    from concurrent import futures

    import grpc

    def meta(ctx):
        return [[k, v] for k, v in ctx.invocation_metadata()]

    def get(req, ctx):
        log_line(args.log, {"method": "/shop.Cart/Get", "metadata": meta(ctx)})
        return b"answer:" + req

    def list_items(req, ctx):
        log_line(args.log, {"method": "/shop.Cart/List", "metadata": meta(ctx)})
        for i in range(5):
            yield f"item-{i}".encode()

    def secret(req, ctx):
        log_line(args.log, {"method": "/shop.Cart/Secret", "metadata": meta(ctx)})
        return b"secret"

    handlers = grpc.method_handlers_generic_handler("shop.Cart", {
        "Get": grpc.unary_unary_rpc_method_handler(get),
        "List": grpc.unary_stream_rpc_method_handler(list_items),
        "Secret": grpc.unary_unary_rpc_method_handler(secret),
    })
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8), handlers=[handlers])
    server.add_insecure_port(f"[::]:{args.port}")
    server.start()
    print("ready", flush=True)
    server.wait_for_termination()


def call(args):
    import grpc
    out = {"code": None, "details": None, "responses": []}
    opts = [("grpc.enable_http_proxy", 0)]
    with grpc.insecure_channel(args.addr, options=opts) as ch:
        try:
            if args.stream:
                rpc = ch.unary_stream(args.method)
                for m in rpc(args.data.encode(), timeout=args.timeout):
                    out["responses"].append(m.decode(errors="replace"))
            else:
                rpc = ch.unary_unary(args.method)
                out["responses"].append(rpc(args.data.encode(), timeout=args.timeout).decode(errors="replace"))
            out["code"] = 0
        except grpc.RpcError as e:
            out["code"], out["details"] = e.code().value[0], e.details()
    print(json.dumps(out))


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    for name in ("h2c", "grpc"):
        s = sub.add_parser(name)
        s.add_argument("--port", type=int, required=True)
        s.add_argument("--log", required=True)
    s = sub.add_parser("call")
    s.add_argument("addr")
    s.add_argument("method")
    s.add_argument("--data", default="")
    s.add_argument("--stream", action="store_true")
    s.add_argument("--timeout", type=float, default=10)
    args = p.parse_args()
    {"h2c": h2c, "grpc": grpc_server, "call": call}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
