#!/usr/bin/env python3
"""The connection-flood and unauthenticated-body probes of issue 19, re-runnable.

Starts `gpuslice cluster` with TLS and a token on 127.0.0.1 and:
  1. opens 1,030 idle TCP connections from 127.0.0.1 (as the issue did), then
     times a normal client (an HTTPS GET of the pods with the token, as
     kubectl sends it) from 127.0.0.2 and from 127.0.0.1;
  2. opens 150 TLS connections without a token, each POSTing a 3 MiB body,
     and reports the server's RSS before, at its peak and after.
Loopback only; about a minute. Not in `make test` (slow, and its figures are
timings). Usage: bench/probe_connections.py [BUILD/src/cmd/gpuslice]
"""
import os
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

TOKEN = "probe-token"
FLOOD = 1030
BODIES = 150
BODY = 3 << 20


def rss_kb(pid, field="VmRSS"):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def start(binary, tmp):
    subprocess.run([binary, "certs", "--out", tmp, "--ip", "127.0.0.1"], check=True,
                   stdout=subprocess.DEVNULL)
    proc = subprocess.Popen([binary, "cluster", "--token", TOKEN, "--tls-cert",
                             f"{tmp}/tls.crt", "--tls-key", f"{tmp}/tls.key",
                             "--kubeconfig", f"{tmp}/kubeconfig"],
                            stdout=subprocess.PIPE, text=True)
    for line in proc.stdout:
        print("  server: " + line.rstrip())
        if line.startswith("API server listening"):
            port = int(line.split(" port ")[1].split(":")[0])
        if line.startswith("Stop with"):
            return proc, port
    raise SystemExit("the server did not start")


def tls_context(tmp):
    ctx = ssl.create_default_context(cafile=f"{tmp}/ca.crt")
    return ctx


def normal_get(port, ctx, source, timeout=60.0):
    """Seconds a GET with the token took, or why it failed."""
    t0 = time.monotonic()
    try:
        raw = socket.create_connection(("127.0.0.1", port), timeout=timeout,
                                       source_address=(source, 0))
        with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
            s.sendall(b"GET /api/v1/namespaces/default/pods HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                      b"Authorization: Bearer " + TOKEN.encode() + b"\r\n"
                      b"Connection: close\r\n\r\n")
            answer = s.recv(64)
        took = time.monotonic() - t0
        status = answer.split(b" ")[1].decode() if answer.startswith(b"HTTP/1.1") else "none"
        return f"HTTP {status} in {took:.3f} s"
    except OSError as e:
        return f"failed after {time.monotonic() - t0:.3f} s: {e}"


def flood(port, ctx):
    print(f"\n1. {FLOOD} idle TCP connections from 127.0.0.1")
    conns = []
    for _ in range(FLOOD):
        try:
            conns.append(socket.create_connection(("127.0.0.1", port), timeout=5,
                                                  source_address=("127.0.0.1", 0)))
        except OSError:
            pass
    time.sleep(1.0)
    closed = 0
    for c in conns:
        c.setblocking(False)
        try:
            closed += c.recv(1) == b""
        except BlockingIOError:
            pass
        except OSError:
            closed += 1
    print(f"   opened {len(conns)}; closed by the server within 1 s: {closed}, "
          f"held: {len(conns) - closed}")
    print("   GET from 127.0.0.2 (another client):", normal_get(port, ctx, "127.0.0.2"))
    print("   GET from 127.0.0.1 (the flood's address):", normal_get(port, ctx, "127.0.0.1"))
    time.sleep(11)
    held = 0
    for c in conns:
        try:
            held += c.recv(1) != b""
        except BlockingIOError:
            held += 1
        except OSError:
            pass
    print(f"   12 s later, still open: {held}")
    print("   GET from 127.0.0.1 then:", normal_get(port, ctx, "127.0.0.1"))
    for c in conns:
        c.close()


def send_body(port, ctx, path, results, i):
    head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Content-Type: application/json\r\nContent-Length: {BODY}\r\n\r\n").encode()
    try:
        raw = socket.create_connection(("127.0.0.1", port), timeout=30)
        with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
            s.sendall(head)
            sent = 0
            chunk = b"x" * 65536
            try:
                while sent < BODY:
                    s.sendall(chunk)
                    sent += len(chunk)
            except OSError:
                pass
            answer = s.recv(64)
            results[i] = answer.split(b" ")[1].decode() if answer.startswith(b"HTTP") else "none"
    except OSError as e:
        results[i] = type(e).__name__


def bodies(proc, port, ctx, path):
    print(f"\n2. {BODIES} TLS connections without a token, each POSTing 3 MiB to {path}")
    before = rss_kb(proc.pid)
    peak = before
    results = [None] * BODIES
    threads = [threading.Thread(target=send_body, args=(port, ctx, path, results, i))
               for i in range(BODIES)]
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        peak = max(peak, rss_kb(proc.pid))
        time.sleep(0.05)
    for t in threads:
        t.join()
    time.sleep(1.0)
    after = rss_kb(proc.pid)
    answers = {}
    for r in results:
        answers[r] = answers.get(r, 0) + 1
    print(f"   answers: {answers}")
    print(f"   server RSS: before {before / 1024:.1f} MB, peak {peak / 1024:.1f} MB, "
          f"after {after / 1024:.1f} MB")


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else "build/src/cmd/gpuslice"
    with tempfile.TemporaryDirectory(prefix="gpuslice-probe-") as tmp:
        proc, port = start(binary, tmp)
        try:
            ctx = tls_context(tmp)
            flood(port, ctx)
            bodies(proc, port, ctx, "/api/v1/namespaces/default/configmaps")
            bodies(proc, port, ctx, "/healthz")
            cpu = os.times()
            print(f"\nprobe CPU: {cpu.user + cpu.system:.1f} s; server CPU (utime+stime): "
                  f"{server_cpu_s(proc.pid):.1f} s")
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def server_cpu_s(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


if __name__ == "__main__":
    main()
