"""Benchmark 3 (issue 7): memory of one huge message and of a long run, against the floor.

Owns: measuring resident memory (`/proc/self/status` VmRSS / VmHWM) in a fresh
subprocess per case, so one case's heap never colours another's. The floor
reads the message and parses it with `mailparser.parse_from_bytes`; the project
calls `intake.handle_message` (SQLite, blob store, outbox rows), as `mailintake
ingest` does. Cases: peak while ingesting one message of nearly
`MAILINTAKE_MAX_MESSAGE_MB` (default 50 MB: the largest the daemon accepts), and
RSS after 1,000 against after `--count` small messages. Must not change product
settings except the size limit when `--attachment-mb` asks for a bigger message.

    .venv/bin/python bench/memory.py [--count 10000] [--attachment-mb 36]
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import time
from pathlib import Path

from common import MB, bench_app, client_message, corpus, machine, quiet_logs, state_dir, table

HERE = Path(__file__).resolve()
BASE64_GROWTH = 1.37  # base64 (4/3) plus a CRLF every 76 characters (RFC 2045 §6.8)


def status_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise KeyError(field)


def reset_peak() -> None:
    """Make VmHWM start again from the current RSS (Linux ≥ 4.0, proc(5) clear_refs)."""
    Path("/proc/self/clear_refs").write_text("5")


# --- children -----------------------------------------------------------------------------


def child_big(mode: str, path: Path, limit_mb: float) -> dict:
    with state_dir("mi-bench-mem") as state:
        app = bench_app(state, MAX_MESSAGE_MB=str(limit_mb)) if mode == "project" else None
        handle = _handler(mode, app)
        handle(client_message(random.Random(1), 0))  # warm-up: imports, templates, connections
        raw = path.read_bytes()
        before = status_mb("VmRSS")
        reset_peak()
        started = time.perf_counter()
        outcome = handle(raw)
        seconds = time.perf_counter() - started
        return {"size_mb": len(raw) / MB, "rss_before_mb": before, "peak_mb": status_mb("VmHWM"),
                "seconds": seconds, "outcome": outcome}  # fmt: skip


def child_many(mode: str, count: int) -> dict:
    marks = {}
    with state_dir("mi-bench-mem") as state:
        app = bench_app(state) if mode == "project" else None
        handle = _handler(mode, app)
        started = time.perf_counter()
        for index, raw in enumerate(corpus("small", count, seed=11), start=1):
            handle(raw)
            if index in (100, 1000) or index % 2000 == 0 or index == count:
                marks[index] = status_mb("VmRSS")
        return {"marks": marks, "seconds": time.perf_counter() - started}


def _handler(mode: str, app):
    if mode == "floor":
        import mailparser

        return lambda raw: type(mailparser.parse_from_bytes(raw)).__name__
    from mailintake.services import intake

    return lambda raw: intake.handle_message(app, raw).outcome


# --- parent -------------------------------------------------------------------------------


def run_child(*args: str) -> dict:
    done = subprocess.run([sys.executable, str(HERE), "--child", *args],
                          check=True, capture_output=True, text=True)  # fmt: skip
    return json.loads(done.stdout.strip().splitlines()[-1])


def big_message(path: Path, attachment_mb: float | None) -> float:
    """Write the big message; returns the size limit (MB) the project needs to accept it."""
    limit_mb = 50.0
    if attachment_mb is None:  # the largest attachment that fits the default 50 MB limit
        attachment_mb = limit_mb / BASE64_GROWTH - 0.2
    raw = client_message(random.Random(3), 1, int(attachment_mb * MB))
    path.write_bytes(raw)
    return max(limit_mb, len(raw) / MB + 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=10000, help="small messages in the long run")
    parser.add_argument("--attachment-mb", type=float, help="attachment size of the big message")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    quiet_logs()
    if args.child:
        case, mode, *rest = args.child
        result = (child_big(mode, Path(rest[0]), float(rest[1])) if case == "big"
                  else child_many(mode, int(rest[0])))  # fmt: skip
        print(json.dumps(result))
        return
    with state_dir("mi-bench-msg") as tmp:
        path = tmp / "big.eml"
        limit = big_message(path, args.attachment_mb)
        big = {mode: run_child("big", mode, str(path), str(limit)) for mode in ("floor", "project")}
    many = {mode: run_child("many", mode, str(args.count)) for mode in ("floor", "project")}
    size = big["project"]["size_mb"]
    print(f"\nmachine: {machine()}\n")
    print(
        f"one message of {size:.1f} MB; target peak ≤ 4 × size + 80 MB = {4 * size + 80:.0f} MB\n"
    )
    rows = []
    for mode, r in big.items():
        rows.append((mode, r["outcome"], r["rss_before_mb"], r["peak_mb"],
                     r["peak_mb"] - r["rss_before_mb"], r["peak_mb"] / size, r["seconds"]))  # fmt: skip
    print(table(["run", "outcome", "RSS before MB", "peak MB", "peak − before MB", "peak / size",
                 "s"], rows))  # fmt: skip
    print(
        f"\nproject peak / floor peak: {big['project']['peak_mb'] / big['floor']['peak_mb']:.2f}\n"
    )
    rows = []
    for mode, r in many.items():
        marks = {int(k): v for k, v in r["marks"].items()}
        last = max(marks)
        rows.append((mode, *(f"{marks[k]:.1f}" for k in sorted(marks)),
                     f"{marks[last] - marks[min(marks, key=lambda k: abs(k - 1000))]:+.1f}",
                     f"{last / r['seconds']:.0f}"))  # fmt: skip
    marks_header = [f"RSS@{k}" for k in sorted(int(k) for k in many["floor"]["marks"])]
    print(table(["run", *marks_header, f"growth 1000→{args.count} MB", "msgs/s"], rows))


if __name__ == "__main__":
    main()
