#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Writes the hand-made seed corpora under fuzz/corpus/<target>/ (seed-*.bin files; crashers and
# other regression inputs live beside them and are never overwritten). Frames are built by hand
# from the wire facts in kata-protocol.md (10-byte header, then a protobuf message). Run from
# anywhere: python3 fuzz/gen_seeds.py
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def varint(n):
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def ld(field, data):
    """A length-delimited protobuf field."""
    return varint(field << 3 | 2) + varint(len(data)) + data


def vi(field, n):
    return varint(field << 3) + varint(n)


def frame(sid, typ, data, flags=0):
    return struct.pack(">IIBB", len(data), sid, typ, flags) + data


def request(service, method, payload=b"", timeout=30_000_000_000):
    msg = ld(1, service.encode()) + ld(2, method.encode())
    if payload:
        msg += ld(3, payload)
    if timeout:
        msg += vi(4, timeout)
    return msg


def req_frame(sid, service, method, payload=b""):
    return frame(sid, 1, request(service, method, payload))


def resp_frame(sid, payload=b"", code=0, message=""):
    status = b""
    if code:
        status += vi(1, code)
    if message:
        status += ld(2, message.encode())
    return frame(sid, 2, ld(1, status) + (ld(2, payload) if payload else b""))


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed-" + name + ".bin"), "wb") as f:
        f.write(data)


HEALTH_CHECK = bytes.fromhex("0000001a000000010100") + ld(1, b"grpc.Health") + ld(2, b"Check") + \
    bytes.fromhex("2080d88ee16f")
HEALTH_RESP = bytes.fromhex("00000004000000010200120208 01".replace(" ", ""))

# ttrpc_frame: byte 0 limit selector (odd: 64 bytes), byte 1 chunk-size count, sizes, stream.
write("ttrpc_frame", "health-check", b"\x00\x00" + HEALTH_CHECK)
write("ttrpc_frame", "health-check-chunked", b"\x00\x03\x00\x04\x09" + HEALTH_CHECK + HEALTH_RESP)
write("ttrpc_frame", "oversized", b"\x01\x01\x07" + HEALTH_CHECK + HEALTH_RESP)
write("ttrpc_frame", "empty-frames", b"\x00\x00" + frame(1, 2, b"") + frame(3, 3, b"", 1))

# ttrpc_client: byte 0 bit 0 closes after; the calls are streams 1 (Health.Check), 3 (with a
# deadline, no decoding), 5 (StringList).
strlist = ld(1, b"hello")
write("ttrpc_client", "replies", b"\x01" + HEALTH_RESP + resp_frame(3) + resp_frame(5, strlist))
write("ttrpc_client", "error-status", b"\x00" + resp_frame(1, code=5, message="not found") +
      resp_frame(5, b"\xff\xff"))
write("ttrpc_client", "stray-and-bad", b"\x01" + resp_frame(7) + frame(2, 1, b"x") +
      frame(1, 9, b"") + struct.pack(">IIBB", 0xFFFFFFFF, 1, 2, 0))

# agent_response: byte 0 picks the descriptor (see fuzz_agent_response.c's table).
iface = ld(1, b"eth0") + ld(2, b"eth0") + ld(3, ld(1, b"10.0.0.2") + ld(2, b"24")) + \
    vi(4, 1500) + ld(5, b"02:00:00:00:00:01")
write("agent_response", "interfaces", b"\x00" + ld(1, iface))
write("agent_response", "interface", b"\x01" + iface)
route = ld(1, b"default") + ld(2, b"10.0.0.1") + ld(3, b"eth0")
write("agent_response", "routes", b"\x02" + ld(1, route))
write("agent_response", "guest-details", b"\x05" + vi(1, 128) + vi(2, 1) + vi(3, 1))
write("agent_response", "wait-process", b"\x07" + vi(1, 3))
write("agent_response", "health", b"\x10" + vi(1, 1))
write("agent_response", "ttrpc-response", b"\x11" + ld(1, vi(1, 2) + ld(2, b"boom")))

# qmp: byte 0 bit 0 closes after; greeting, qmp_capabilities' return (id 1), query-status (id 2).
GREETING = b'{"QMP": {"version": {"qemu": {"micro": 22, "minor": 2, "major": 7}, ' \
    b'"package": "Debian 1:7.2+dfsg-7"}, "capabilities": ["oob"]}}\r\n'
write("qmp", "handshake-status", b"\x00" + GREETING + b'{"return": {}, "id": 1}\r\n' +
      b'{"timestamp": {"seconds": 1, "microseconds": 2}, "event": "RESUME"}\r\n' +
      b'{"return": {"running": true, "status": "running"}, "id": 2}\r\n')
write("qmp", "error-reply", b"\x01" + GREETING + b'{"return": {}, "id": 1}\r\n' +
      b'{"error": {"class": "GenericError", "desc": "boom"}, "id": 2}\r\n')
write("qmp", "no-greeting", b"\x00" + b'{"return": {}, "id": 1}\r\n')
write("qmp", "garbage", b"\x01" + GREETING + b'{"return": {}, "id": 1}\r\n{"id": [[[[\r\n')

# scenario_parse: a few of the suite's own files are the best seeds.
for name in ("lifecycle", "crashes"):
    src = os.path.join(HERE, "..", "scenarios", "examples", name + ".yaml")
    if os.path.exists(src):
        with open(src, "rb") as f:
            write("scenario_parse", name, f.read())

# store_load: byte 0 even = sandbox document "sb", odd = container "c1" of "sb". The
# documents were written by the runtime (vc_sandbox_run of the test fixture's config).
for name, sel in (("sb", b"\x00"), ("ct", b"\x01")):
    src = os.path.join(HERE, "seed-src", "doc-" + name + ".json")
    if os.path.exists(src):
        with open(src, "rb") as f:
            write("store_load", "persisted-" + name, sel + f.read())
write("store_load", "minimal-sb", b"\x00" + b'{"version": 1, "state": "ready", "config": {"id": "sb"}}')
write("store_load", "newer", b"\x00" + b'{"version": 9, "state": "ready", "config": {"id": "sb"}}')

# pbjson: byte 0 low nibble picks the descriptor (fuzz_pbjson.c's table), 0x10 ignores unknown.
write("pbjson", "create-container", b"\x00" + b'{"container_id": "c1", "exec_id": "c1", '
      b'"OCI": {"Version": "1.0.2", "Process": {"Args": ["sh"], "Cwd": "/"}, '
      b'"Root": {"Path": "/run/rootfs"}}, "storages": []}')
write("pbjson", "ttrpc-request", b"\x01" + b'{"service": "grpc.Health", "method": "Check", '
      b'"payload": "", "timeout_nano": "30000000000", "metadata": [{"key": "k", "value": "v"}]}')
write("pbjson", "ttrpc-response", b"\x12" + b'{"status": {"code": 5, "message": "x"}, "zz": 1}')
write("pbjson", "routes", b"\x06" + b'{"routes": {"Routes": [{"dest": "default", "gateway": '
      b'"10.0.0.1", "device": "eth0"}]}}')

# mockagent_server: byte 0 bit 0 closes after; request frames on streams 1, 3, 5...
ccreq = ld(1, b"c1") + ld(2, b"c1")
write("mockagent_server", "health", b"\x00" + HEALTH_CHECK +
      req_frame(3, "grpc.Health", "Version"))
write("mockagent_server", "guest-details", b"\x01" +
      req_frame(1, "grpc.AgentService", "GetGuestDetails", vi(1, 1)) +
      req_frame(3, "grpc.AgentService", "CreateContainer", ccreq) +
      req_frame(5, "grpc.AgentService", "NoSuchMethod") +
      req_frame(7, "grpc.Nope", "Check"))
write("mockagent_server", "sandbox", b"\x00" +
      req_frame(1, "grpc.AgentService", "CreateSandbox", ld(1, b"sb1") + ld(7, b"sb1")) +
      req_frame(3, "grpc.AgentService", "ListInterfaces") +
      req_frame(5, "grpc.AgentService", "DestroySandbox"))

# session: byte 0 = options (1 pause/resume, 2 queries, 4 stdio, 8 container stop+delete, 16 one
# long-lived agent connection) | fault rule count << 5; then 4 bytes per rule (action | 0x80 for
# the runtime's side, nth - 1, limit - 1, delay in ms); then substitutions (reply frame number,
# mode 0 raw / 1 data / 2 payload, 2-byte length, bytes). See fuzz_session.c.
ACTIONS = ["corrupt", "truncate", "drop", "duplicate", "drip", "reset", "delay", "hang"]
write("session", "plain", b"\x00")
write("session", "everything", b"\x1f")
for i, name in enumerate(ACTIONS):
    write("session", "guest-" + name, bytes([0x0f | 1 << 5, i, 2 + i, 0, 5]))
write("session", "runtime-corrupt", bytes([0x02 | 1 << 5, 0x80, 3, 1, 0]))
write("session", "three-rules", bytes([0x0f | 3 << 5, 0, 4, 0, 0, 3, 9, 0, 0, 6, 1, 7, 200]))
write("session", "raw-garbage", b"\x0f" + bytes([3, 0, 0, 4]) + b"\xff\xff\xff\xff")
write("session", "bad-status", b"\x0f" + bytes([5, 1, 0, 4]) + ld(1, vi(1, 13)))
write("session", "guest-details-payload", b"\x02" + bytes([4, 2, 0, 6]) + vi(1, 1) + vi(2, 1) +
      vi(3, 0))
