"""Hostile inputs built on the fly: bombs and endless lines are tiny compressed, so nothing
large is committed, and a raw HTTP client that sends a body until the server answers."""

from __future__ import annotations

import gzip
import io
import select
import socket
import zipfile
import zlib
from collections.abc import Iterable

MB = 1024 * 1024


def gzip_stream(chunk: bytes, repeats: int, tail: bytes = b"") -> bytes:
    """``chunk`` repeated ``repeats`` times, gzipped as it is made (never held whole)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: a gzip header and trailer
    parts = [compressor.compress(chunk) for _ in range(repeats)]
    return b"".join([*parts, compressor.compress(tail), compressor.flush()])


def huge_line_gzip(gib: float = 1.1) -> bytes:
    """A gzipped SMILES "library" of one line of ``gib`` GiB of carbon atoms (about 1 MB)."""
    return gzip_stream(b"C" * MB, int(gib * 1024), b"\n")


def gzip_bomb(unpacked_mb: int) -> bytes:
    """A gzipped SMILES library of short valid lines that unpacks to ``unpacked_mb`` MB."""
    line = b"CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCO\n"
    return gzip_stream(line * (MB // len(line)), unpacked_mb)


def zip_bomb(unpacked_mb: int) -> bytes:
    """A zip whose one SMILES member unpacks to ``unpacked_mb`` MB (its header says so)."""
    archive = io.BytesIO()
    line = b"CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCO\n"
    with (
        zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped,
        zipped.open("bomb.smi", "w", force_zip64=True) as member,
    ):
        for _ in range(unpacked_mb):
            member.write(line * (MB // len(line)))
    return archive.getvalue()


def nested_zip() -> bytes:
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as zipped:
        zipped.writestr("ligands.smi", "CCO ethanol\n")
    outer = io.BytesIO()
    with zipfile.ZipFile(outer, "w") as zipped:
        zipped.writestr("ligands.zip", inner.getvalue())
    return outer.getvalue()


def nested_gzip() -> bytes:
    return gzip.compress(gzip.compress(b"CCO ethanol\n"))


def multipart(fields: dict[str, str], file_field: str, filename: str) -> tuple[bytes, bytes]:
    """The start of a multipart body (the text fields, then a file part's header) and its end;
    the file's content goes between them."""
    boundary = b"hostileboundary7d1f"
    head = b"".join(
        b'--%s\r\nContent-Disposition: form-data; name="%s"\r\n\r\n%s\r\n'
        % (boundary, name.encode(), value.encode())
        for name, value in fields.items()
    )
    head += (
        b'--%s\r\nContent-Disposition: form-data; name="%s"; filename="%s"\r\n'
        b"Content-Type: application/octet-stream\r\n\r\n"
        % (boundary, file_field.encode(), filename.encode())
    )
    return head, b"\r\n--%s--\r\n" % boundary


CONTENT_TYPE = "multipart/form-data; boundary=hostileboundary7d1f"


class RawResponse:
    def __init__(self, status: int, body: bytes, sent: int):
        self.status = status
        self.body = body
        self.sent = sent
        """Bytes of body the client had sent when the server answered."""


def raw_post(
    port: int,
    path: str,
    body: Iterable[bytes],
    *,
    content_length: int | None = None,
    timeout: float = 30.0,
) -> RawResponse:
    """POST ``body`` chunk by chunk (chunked transfer unless ``content_length`` is given),
    stopping as soon as the server answers, and read that answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        length = (
            f"Content-Length: {content_length}"
            if content_length is not None
            else "Transfer-Encoding: chunked"
        )
        head = (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {CONTENT_TYPE}\r\n"
            f"{length}\r\nAccept: application/json\r\n\r\n"
        )
        sock.sendall(head.encode())
        sent = 0
        for chunk in body:
            if select.select([sock], [], [], 0)[0]:
                break  # the server has answered
            framed = chunk if content_length is not None else b"%x\r\n%s\r\n" % (len(chunk), chunk)
            try:
                sock.sendall(framed)
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += len(chunk)
        else:
            if content_length is None:
                sock.sendall(b"0\r\n\r\n")
        return _read_response(sock, sent)


def _read_response(sock: socket.socket, sent: int) -> RawResponse:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise AssertionError(f"the server closed the connection without answering: {data!r}")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = dict(line.lower().split(": ", 1) for line in lines[1:])
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return RawResponse(status, body[:length], sent)
