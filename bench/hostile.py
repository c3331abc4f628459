"""Benchmark 5 (issue 10): hostile message shapes through the whole intake, time and peak memory.

Owns: building each hostile shape (the issue's and more), handing it to
`intake.handle_message` (SQLite, blob store, outbox rows: what `mailintake
ingest` does) in a fresh subprocess per shape, and printing one Markdown row
per shape: size, seconds, peak memory above the warmed-up process, and whether
the goal is met — every message up to the size limit handled in ≤ 5 s and
≤ 4 × its size + 80 MB. Must not assert: a benchmark reports (the machine is
shared), tests bound *work* instead.

    .venv/bin/python bench/hostile.py [--only SHAPE …]
"""

from __future__ import annotations

import argparse
import base64
import json
import random
import struct
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from common import MB, bench_app, client_message, machine, quiet_logs, state_dir, table
from memory import reset_peak, status_mb

HERE = Path(__file__).resolve()
GOAL_SECONDS = 5.0
HEAD = (
    "From: Jan Kowalski <jan.kowalski@example.pl>\r\nTo: support@log-systems.com\r\n"
    "Subject: {subject}\r\nMessage-ID: <{mid}@example.pl>\r\nMIME-Version: 1.0\r\n"
)


def _mail(
    body: str, *, subject: str = "Awaria", extra: str = "", ctype: str = "text/plain"
) -> bytes:
    head = HEAD.format(subject=subject, mid=random.getrandbits(64)) + extra
    return (head + f"Content-Type: {ctype}; charset=utf-8\r\n\r\n" + body).encode()


def short_lines(count: int) -> bytes:
    return _mail("".join(f"x{i % 10}\r\n" for i in range(count)))


def quoted_lines(count: int) -> bytes:
    """Attribution-looking lines between quotes: the quote stripper's worst case."""
    return _mail(
        "".join(f"On 2026-11-{i % 28 + 1:02d} a@b.pl wrote:\r\n> q\r\n" for i in range(count))
    )


def references(count: int) -> bytes:
    refs = " ".join(f"<r{i}@example.pl>" for i in range(count))
    return _mail(
        "Treść\r\n", extra=f"References: {refs}\r\nIn-Reply-To: <r{count - 1}@example.pl>\r\n"
    )


def tiny_parts(count: int) -> bytes:
    parts = "".join(
        f"--b\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; filename=f{i}.txt\r\n\r\nx\r\n"
        for i in range(count)
    )
    return _mail(parts + "--b--\r\n", ctype='multipart/mixed; boundary="b"').replace(
        b"; charset=utf-8", b""
    )


def nested(levels: int) -> bytes:
    body = "".join(
        f'Content-Type: multipart/mixed; boundary="b{i}"\r\n\r\n--b{i}\r\n' for i in range(levels)
    )
    body += "Content-Type: text/plain\r\n\r\nhi\r\n" + "".join(
        f"--b{i}--\r\n" for i in reversed(range(levels))
    )
    head = HEAD.format(subject="deep", mid=random.getrandbits(64))
    return (head + body).encode()


def _tnef_attribute(level: int, attribute: int, data: bytes) -> bytes:
    """One TNEF attribute (MS-OXTNEF 2.1.3): level, id, length, data, checksum."""
    return (
        struct.pack("<BII", level, attribute, len(data))
        + data
        + struct.pack("<H", sum(data) & 0xFFFF)
    )


def tnef(files: int, file_bytes: int) -> bytes:
    """A winmail.dat with `files` attachments of `file_bytes` each."""
    stream = struct.pack("<IH", 0x223E9F78, 1) + _tnef_attribute(1, 0x00089006, b"\x00\x00\x01\x00")
    one = (_tnef_attribute(2, 0x00069002, b"\x01\x00" + b"\x00" * 12)
           + _tnef_attribute(2, 0x00018010, b"LOGSystem.log\x00")
           + _tnef_attribute(2, 0x0006800F, b"x" * file_bytes))  # fmt: skip
    payload = base64.encodebytes(stream + one * files).decode()
    parts = (
        "--b\r\nContent-Type: text/plain\r\n\r\nW załączniku.\r\n"
        "--b\r\nContent-Type: application/ms-tnef; name=winmail.dat\r\n"
        f"Content-Transfer-Encoding: base64\r\n\r\n{payload}--b--\r\n"
    )
    return _mail(parts, ctype='multipart/mixed; boundary="b"').replace(b"; charset=utf-8", b"")


def one_line(size: int) -> bytes:
    return _mail("a" * size)


def html_tags(count: int) -> bytes:
    return _mail("<div>" * count + "tekst" + "</div>" * count, ctype="text/html")


def html_attributes(count: int, closed: bool = True) -> bytes:
    """An HTML-only body whose one tag carries `count` attributes (closed with `>` or not)."""
    tag = "<p " + "a " * count + (">x</p>" if closed else "")
    return _mail(tag, ctype="text/html")


def big_header(count: int) -> bytes:
    to = ", ".join(f"u{i}@example.pl" for i in range(count))
    return _mail("Treść\r\n", extra=f"Cc: {to}\r\n")


def encoded_words(count: int) -> bytes:
    return _mail("Treść\r\n", subject=" ".join(["=?utf-8?q?=C4=85?="] * count))


def rfc2231_continuations(count: int) -> bytes:
    """One part whose file name is `count` RFC 2231 continuations (`filename*0*=…`)."""
    params = "".join(f";\r\n filename*{i}*=x" for i in range(count))
    parts = (
        "--b\r\nContent-Type: text/plain\r\n\r\nLogi.\r\n"
        f"--b\r\nContent-Type: text/plain\r\nContent-Disposition: attachment{params}\r\n\r\n"
        "x\r\n--b--\r\n"
    )
    return _mail(parts, ctype='multipart/mixed; boundary="b"').replace(b"; charset=utf-8", b"")


def many_to_headers(fields: int, per_field: int) -> bytes:
    line = ", ".join(f"u{i}@example.pl" for i in range(per_field))
    return _mail("Treść\r\n", extra=f"To: {line}\r\n" * fields)


def many_cc_fields(count: int) -> bytes:
    return _mail("Treść\r\n", extra="".join(f"Cc: c{i}@example.pl\r\n" for i in range(count)))


def encoded_x_headers(count: int, size: int) -> bytes:
    word = "=?utf-8?q?" + "=C4=85" * (size // 6 // 4) + "?="
    value = " ".join([word] * 4)[:size]
    return _mail("Treść\r\n", extra=f"X-Foo: {value}\r\n" * count)


def parts_not_content_first(count: int) -> bytes:
    parts = "".join(f"--b\r\nX-Part: {i}\r\nContent-Type: text/plain\r\n\r\nx\r\n"
                    for i in range(count))  # fmt: skip
    return _mail(parts + "--b--\r\n", ctype='multipart/mixed; boundary="b"').replace(
        b"; charset=utf-8", b""
    )


def received_headers(count: int) -> bytes:
    line = (
        "Received: from mx{0}.example.pl by mx.log-systems.com; Mon, 30 Nov 2026 10:00:00 +0100\r\n"
    )
    return _mail("Treść\r\n", extra="".join(line.format(i) for i in range(count)))


def subjects(count: int, size: int) -> bytes:
    value = "Awaria " * (size // 7)
    return _mail("Treść\r\n", extra=f"Subject: {value}\r\n" * count)


def bare_crs(count: int) -> bytes:
    return _mail("a\r" * count)


def qp_soft_breaks(count: int) -> bytes:
    return _mail("a=\r\n" * count, extra="Content-Transfer-Encoding: quoted-printable\r\n")


def big_attachment(megabytes: float) -> bytes:
    return client_message(random.Random(3), 1, int(megabytes * MB))


SHAPES: dict[str, Callable[[], bytes]] = {
    "100,000 short lines": lambda: short_lines(100_000),
    "2 MB of short lines": lambda: short_lines(520_000),
    "attribution + quote × 100,000": lambda: quoted_lines(100_000),
    "100,000 References": lambda: references(100_000),
    "100,000 tiny MIME parts": lambda: tiny_parts(100_000),
    "1,000 levels of multipart": lambda: nested(1_000),
    "5 MB TNEF, one file": lambda: tnef(1, 5 * MB),
    "TNEF of 100,000 files (5 MB)": lambda: tnef(100_000, 2),
    "10 MB on one line": lambda: one_line(10 * MB),
    "HTML nested 200,000 deep": lambda: html_tags(200_000),
    "Cc of 100,000 addresses": lambda: big_header(100_000),
    "Subject of 100,000 encoded words": lambda: encoded_words(100_000),
    "36 MB attachment (at the limit)": lambda: big_attachment(36),
    # Round 2 (issue 10): shapes a fresh-eyes attack found slow or hungry.
    "100,000 RFC 2231 continuations": lambda: rfc2231_continuations(100_000),
    "2,000 To fields × 100 addresses": lambda: many_to_headers(2_000, 100),
    "200,000 Cc fields": lambda: many_cc_fields(200_000),
    "3,000 × 16 KB encoded X-Foo": lambda: encoded_x_headers(3_000, 16_384),
    "100,000 parts, first header not Content-*": lambda: parts_not_content_first(100_000),
    "100,000 Received": lambda: received_headers(100_000),
    "500 × 16 KB Subjects": lambda: subjects(500, 16_384),
    "5,000,000 bare CRs": lambda: bare_crs(5_000_000),
    "QP 'a=CRLF' × 2,600,000": lambda: qp_soft_breaks(2_600_000),
    "HTML tag with 4,000,000 attributes": lambda: html_attributes(4_000_000),
    "HTML tag of 4,000,000 attributes, unclosed": lambda: html_attributes(4_000_000, False),
}


def child(shape: str) -> dict:
    raw = SHAPES[shape]()
    with state_dir("mi-bench-hostile") as state:
        app = bench_app(state, MAX_MESSAGE_MB="50")
        from mailintake.services import intake

        intake.handle_message(app, client_message(random.Random(1), 0))  # warm-up
        before = status_mb("VmRSS")
        reset_peak()
        started = time.perf_counter()
        outcome = intake.handle_message(app, raw).outcome
        seconds = time.perf_counter() - started
        peak = status_mb("VmHWM") - before
    return {"size_mb": len(raw) / MB, "seconds": seconds, "peak_mb": peak, "outcome": outcome}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", nargs="+", choices=list(SHAPES), help="run these shapes only")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    quiet_logs()
    if args.child:
        print(json.dumps(child(args.child)))
        return
    rows = []
    for shape in args.only or SHAPES:
        done = subprocess.run([sys.executable, str(HERE), "--child", shape],
                              capture_output=True, text=True, timeout=600)  # fmt: skip
        if done.returncode != 0:
            rows.append((shape, "-", "-", "-", "crashed: " + done.stderr.strip()[-120:], "no"))
            continue
        r = json.loads(done.stdout.strip().splitlines()[-1])
        budget = 4 * r["size_mb"] + 80
        met = r["seconds"] <= GOAL_SECONDS and r["peak_mb"] <= budget
        rows.append((shape, f"{r['size_mb']:.2f}", f"{r['seconds']:.2f}",
                     f"{r['peak_mb']:.0f} / {budget:.0f}", r["outcome"], "yes" if met else "no"))  # fmt: skip
        print(f"{shape}: {rows[-1][2:]}", file=sys.stderr, flush=True)
    print(machine())
    print(table(("shape", "MB", "seconds", "peak MB / goal", "outcome", "goal met"), rows))


if __name__ == "__main__":
    main()
