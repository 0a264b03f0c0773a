#!/usr/bin/env python3
"""Test and benchmark peer of `kexec-chooser upload`: an HTTP(S) server on
127.0.0.1 that parses request bodies with an independent multipart parser
(PyPI `multipart`, pinned in scripts/setup.d/70-upload.sh) and reports what it
received as JSON, plus a CONNECT proxy for the proxy tests.

    server.py serve [--tls CERT KEY]   print the port, then serve
    server.py proxy LOG                print the port, then proxy (CONNECT, or
                                       absolute-form http requests), appending
                                       each request line to LOG

Paths (any method):
    /echo                  parse the multipart body, answer 200 with a report
    /discard               read and discard the body (benchmark), answer its size
    /status/NNN            drain the body, answer NNN with a short text body
    /bigerror              drain the body, answer 500 with a 10000-byte body
    /redirect/NNN?to=PATH  drain the body, answer NNN with Location: PATH
    /stall                 read nothing, answer nothing for 30 s
    /early                 answer 413 before reading the body, then drain it
    /slow                  wait 4 s before reading the body, then answer 200
    /continue/flood        drain the body, then send `100 Continue` answers
                           as fast as the client takes them, until it leaves
    /continue/trickle      the same, one every 0.2 s
    /stall-answer          drain the body, send a head announcing 100 bytes
                           and 10 of them, then nothing for 30 s
    /raw/NAME              drain the body, then send RAW_ANSWERS[NAME] as it is
"""

import hashlib
import io
import json
import select
import socket
import ssl
import sys
import tempfile
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import multipart

CHUNK = 1 << 20

# Answers with hostile framing, sent byte for byte by /raw/NAME.
RAW_ANSWERS = {
    "length-differs": b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 12\r\n\r\nokSMUGGLED!!",
    "length-list-differs": b"HTTP/1.1 200 OK\r\nContent-Length: 2, 12\r\n\r\nokSMUGGLED!!",
    "length-same-twice": b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2, 2\r\n\r\nok",
    "length-signed": b"HTTP/1.1 200 OK\r\nContent-Length: +2\r\n\r\nok",
    "chunked-and-length": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 2\r\n\r\n"
    b"2\r\nok\r\n0\r\n\r\n",
    "gzip-coding": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
    "folded-length": b"HTTP/1.1 200 OK\r\nX-Note: a\r\n Content-Length: 12\r\nContent-Length: 2\r\n\r\nok",
}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # keep the test output clean
        pass

    def answer(self, code, body, ctype="text/plain", extra=()):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True

    def read_body(self, sink):
        """Read Content-Length bytes into sink (or discard); give the count."""
        length = int(self.headers.get("Content-Length", "0"))
        buf = bytearray(CHUNK)
        view = memoryview(buf)
        got = 0
        self.connection.settimeout(20)
        while got < length:
            n = self.rfile.readinto(view[: min(CHUNK, length - got)])
            if not n:
                break
            if sink is not None:
                sink(view[:n])
            got += n
        return got

    def extra_bytes(self):
        """Bytes the client sent past Content-Length (it should send none):
        whatever a short wait brings, buffered or still in the socket."""
        self.connection.settimeout(0.1)
        try:
            return len(self.rfile.peek(1))
        except (OSError, ValueError):
            return 0
        finally:
            self.connection.settimeout(20)

    def do_POST(self):
        url = urllib.parse.urlsplit(self.path)
        path = url.path
        if path == "/stall":
            time.sleep(30)
            self.close_connection = True
            return
        if path == "/echo":
            return self.echo()
        if path == "/slow":
            time.sleep(4)
            try:
                got = self.read_body(None)
                return self.answer(200, json.dumps({"received": got}).encode(), "application/json")
            except OSError:  # the client gave up, as it should have
                self.close_connection = True
                return
        if path == "/early":
            body = b"too large\n"
            self.wfile.write(
                b"HTTP/1.1 413 Content Too Large\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s"
                % (len(body), body)
            )
            self.wfile.flush()
            self.read_body(None)  # a lingering close: the client may finish sending
            self.close_connection = True
            return
        if path.startswith("/continue/"):
            self.read_body(None)
            pause = 0.2 if path.endswith("trickle") else 0
            try:
                while True:
                    self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                    self.wfile.flush()
                    time.sleep(pause)
            except OSError:  # the client gave up, as it should
                pass
            self.close_connection = True
            return
        if path == "/stall-answer":
            self.read_body(None)
            self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789")
            self.wfile.flush()
            time.sleep(30)
            self.close_connection = True
            return
        if path.startswith("/raw/"):
            self.read_body(None)
            self.wfile.write(RAW_ANSWERS[path[len("/raw/"):]])
            self.wfile.flush()
            self.close_connection = True
            return
        if path == "/discard":
            got = self.read_body(None)
            return self.answer(200, json.dumps({"received": got}).encode(), "application/json")
        self.read_body(None)
        if path.startswith("/status/"):
            code = int(path.rsplit("/", 1)[1])
            return self.answer(code, f"nope: {code}\n".encode())
        if path == "/bigerror":
            return self.answer(500, b"x" * 10000)
        if path.startswith("/redirect/"):
            code = int(path.rsplit("/", 1)[1])
            to = urllib.parse.parse_qs(url.query).get("to", ["/echo"])[0]
            return self.answer(code, b"moved\n", extra=[("Location", to)])
        return self.answer(404, b"no such path\n")

    do_PUT = do_POST

    def echo(self):
        chunked = "chunked" in self.headers.get("Transfer-Encoding", "").lower()
        spool = tempfile.SpooledTemporaryFile(max_size=8 << 20)
        got = 0 if chunked else self.read_body(spool.write)
        extra = self.extra_bytes()
        spool.seek(0)
        ctype, options = multipart.parse_options_header(self.headers.get("Content-Type", ""))
        report = {
            "method": self.command,
            "path": self.path,
            "content_length": int(self.headers.get("Content-Length", "-1")),
            "received": got,
            "extra": extra,
            "chunked": chunked,
            "content_type": ctype,
            "boundary": options.get("boundary", ""),
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "fields": [],
            "files": [],
        }
        try:
            parser = multipart.MultipartParser(
                spool, options["boundary"], content_length=got, strict=True,
                memfile_limit=1 << 16, disk_limit=1 << 40, partsize_limit=1 << 40,
            )
            for part in parser:
                if part.filename is None:
                    report["fields"].append(
                        {"name": part.name, "value": part.value, "content_type": part.headers.get("Content-Type")}
                    )
                else:
                    h = hashlib.sha256()
                    size = 0
                    part.file.seek(0)
                    while True:
                        b = part.file.read(CHUNK)
                        if not b:
                            break
                        h.update(b)
                        size += len(b)
                    report["files"].append(
                        {
                            "name": part.name,
                            "filename": part.filename,
                            "content_type": part.content_type,
                            "sha256": h.hexdigest(),
                            "size": size,
                        }
                    )
                part.close()
        except Exception as e:  # the report says what broke; the test fails on it
            report["parse_error"] = f"{type(e).__name__}: {e}"
        self.answer(200, json.dumps(report).encode(), "application/json")


def serve(argv):
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    if argv[:1] == ["--tls"]:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(argv[1], argv[2])
        httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
    print(httpd.server_address[1], flush=True)
    httpd.serve_forever()


def pipe(read, a, b):
    """Copy from a (through its read function) to b until the end."""
    try:
        while True:
            data = read(CHUNK)
            if not data:
                break
            b.sendall(data)
    except OSError:
        pass
    finally:
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def proxy_client(conn, log):
    f = conn.makefile("rb")
    request_line = f.readline()
    request = request_line.decode("latin-1").split()
    head = []
    while True:
        line = f.readline()
        if line in (b"\r\n", b"\n", b""):
            break
        head.append(line)
    if len(request) < 3:
        conn.close()
        return
    if request[0] == "CONNECT":
        target, forward = request[1], None
    elif request[1].startswith("http://"):
        # A plain-http request in absolute form: forward it in origin form.
        u = urllib.parse.urlsplit(request[1])
        target = f"{u.hostname}:{u.port or 80}"
        path = (u.path or "/") + (f"?{u.query}" if u.query else "")
        forward = f"{request[0]} {path} {request[2]}\r\n".encode() + b"".join(head) + b"\r\n"
    else:
        conn.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
        conn.close()
        return
    host, _, port = target.rpartition(":")
    if host.strip("[]") not in ("127.0.0.1", "localhost", "::1"):
        conn.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
        conn.close()
        return
    with open(log, "a") as out:
        out.write(f"{request[0]} {request[1]}\n")
    upstream = socket.create_connection((host.strip("[]"), int(port)), timeout=20)
    upstream.settimeout(None)
    if forward is None:
        conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
    else:
        upstream.sendall(forward)
    threading.Thread(target=pipe, args=(upstream.recv, upstream, conn), daemon=True).start()
    pipe(f.read1, conn, upstream)  # read1: bytes already buffered by readline come first


def proxy(argv):
    log = argv[0]
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    print(srv.getsockname()[1], flush=True)
    while True:
        conn, _ = srv.accept()
        threading.Thread(target=proxy_client, args=(conn, log), daemon=True).start()


if __name__ == "__main__":
    {"serve": serve, "proxy": proxy}[sys.argv[1]](sys.argv[2:])
