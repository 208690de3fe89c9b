#!/usr/bin/env python3
"""Counts a server's user-space instructions per authenticated GET /dois/{doi} with callgrind
(BENCHMARKS.md, "Server instructions per request").

Usage: .ci/callgrind-read.py [tinydoi|ceiling] [--put] [--bench target/release/tinydoi-bench]

--put counts a new-DOI `PUT /metadata` of the full kernel-4 example instead (120 and then 20
requests, the difference divided by 100).

The server (`tinydoi-bench serve-child`, 2 workers) runs under callgrind twice, serving 1,200
and then 200 keep-alive GETs from one client; the difference of the totals divided by 1,000
is the cost of one request, start-up and shut-down cancelling out. The database (demo
accounts, a key, the full kernel-4 example as 10.5072/bench-read) comes from
`tinydoi-bench seed-read`; the ceiling serves that read's body.
"""
import os, re, socket, subprocess, sys, tempfile

kind = sys.argv[1] if len(sys.argv) > 1 and not sys.argv[1].startswith("-") else "tinydoi"
bench = "target/release/tinydoi-bench"
if "--bench" in sys.argv:
    bench = sys.argv[sys.argv.index("--bench") + 1]
bench = os.path.abspath(bench)
tmp = tempfile.mkdtemp(prefix="cg-read-")
db, body = os.path.join(tmp, "t.db"), os.path.join(tmp, "body")
auth = subprocess.run([bench, "seed-read", db, body], check=True, capture_output=True, text=True).stdout.strip()
request = ("GET /dois/10.5072/bench-read HTTP/1.1\r\nHost: x\r\nAuthorization: %s\r\n\r\n" % auth).encode()
put = "--put" in sys.argv
XML = open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "kernel-4", "example",
                        "datacite-example-full-v4.xml")).read()
IDENT = re.search(r'<identifier identifierType="DOI">([^<]*)</identifier>', XML).group(1)


def next_request(i, n):
    """The i-th of n requests: the read, or a PUT of the example as a new DOI."""
    if not put:
        return request
    doi = "10.5072/cg-%d-%d" % (n, i)
    body = XML.replace(IDENT, doi).encode()
    head = ("PUT /metadata/%s HTTP/1.1\r\nHost: x\r\nAuthorization: %s\r\nContent-Type: application/xml\r\n"
            "Content-Length: %d\r\n\r\n" % (doi, auth, len(body)))
    return head.encode() + body


def read_response(f):
    length, status = None, None
    while True:
        line = f.readline()
        if not line:
            raise SystemExit("connection closed")
        if status is None:
            status = int(line.split()[1])
        if line in (b"\r\n", b"\n"):
            break
        name, _, value = line.decode().partition(":")
        if name.lower() == "content-length":
            length = int(value)
    f.read(length)
    return status


def total(n):
    out = os.path.join(tmp, "cg.%d" % n)
    target = db if kind == "tinydoi" else body
    p = subprocess.Popen(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out, bench, "serve-child", kind, target, "2"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    addr = p.stdout.readline().decode().split()[1]
    host, port = addr.rsplit(":", 1)
    s = socket.create_connection((host, int(port)))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    f = s.makefile("rb")
    for i in range(n):
        s.sendall(next_request(i, n))
        status = read_response(f)
        if status not in (200, 201):
            raise SystemExit("status %d" % status)
    s.close()
    p.stdin.close()
    p.wait()
    with open(out) as f:
        text = f.read()
    return sum(int(m.group(1)) for m in re.finditer(r"^summary: (\d+)", text, re.M)) or int(
        re.search(r"^totals: (\d+)", text, re.M).group(1))


if put:
    big, small = total(120), total(20)
    print("%s: %d instructions per PUT" % (kind, (big - small) / 100))
else:
    big, small = total(1200), total(200)
    print("%s: %d instructions per GET" % (kind, (big - small) / 1000))
