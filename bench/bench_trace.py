"""What APDU tracing costs (issue 8): a full in-process card read untraced, and traced by the host
(`TracingTransport` writing a file), by the emulator (`ApduTracer`), and by both — each through
the one redaction policy (`mynacard.codec.redaction`).

Prints the median time of each and its ratio to the untraced read measured in the same run, and
the policy alone (feeding the recorded exchanges to a fresh `RedactionPolicy`).

Run: .venv/bin/python bench/bench_trace.py [--rounds N]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench_host_read import demo_code_b, full_read

from mynacard.applet_model.card import Card
from mynacard.applet_model.store import DirectoryStore, MemoryStore
from mynacard.codec.redaction import RedactionPolicy
from mynacard.emulator.demo import packaged_demo_card
from mynacard.emulator.inprocess import InProcessTransport
from mynacard.emulator.trace import ApduTracer
from mynacard.host.trace import TracingTransport, open_trace_file
from mynacard.host.transport import Transport


def timed(make: Callable[[], Transport], code_b: str) -> float:
    transport = make()
    started = time.perf_counter()
    full_read(transport, code_b)
    elapsed = time.perf_counter() - started
    transport.close()
    return elapsed


def medians(variants: dict[str, Callable[[], Transport]], rounds: int, code_b: str) -> dict[str, float]:
    """Median seconds per variant, the variants interleaved so that machine noise hits all alike."""
    times: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(rounds):
        for name, make in variants.items():
            times[name].append(timed(make, code_b))
    return {name: statistics.median(values) for name, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    code_b = demo_code_b()
    work = Path(tempfile.mkdtemp(prefix="mynacard-bench-trace-"))
    try:
        image = DirectoryStore(packaged_demo_card()).load_image()

        def card(tracer: ApduTracer | None = None) -> InProcessTransport:
            """The demo card in memory (no state file written: only the tracing differs)."""
            return InProcessTransport(Card.open(MemoryStore(image)), name="emulator:bench", tracer=tracer)

        host_sink = open_trace_file(work / "host.trace")
        emulator_tracer = ApduTracer.open(work / "emulator.trace")
        recorded: list[tuple[bytes, bytes]] = []

        class Recording(TracingTransport):
            def transmit(self, apdu: bytes) -> bytes:
                response = super().transmit(apdu)
                recorded.append((apdu, response))
                return response

        variants: dict[str, Callable[[], Transport]] = {
            "untraced": card,
            "host trace": lambda: TracingTransport(card(), sink=host_sink),
            "emulator trace": lambda: card(emulator_tracer),
            "both traces": lambda: TracingTransport(card(emulator_tracer), sink=host_sink),
        }
        medians(variants, 2, code_b)  # warm-up: imports, caches
        results = medians(variants, args.rounds, code_b)
        recording = Recording(card())
        full_read(recording, code_b)
        recording.close()
        feeds = []
        for _ in range(args.rounds):
            policy = RedactionPolicy()
            started = time.perf_counter()
            for command, response in recorded:
                policy.feed(command, response)
            feeds.append(time.perf_counter() - started)
        host_sink.close()
        emulator_tracer.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)

    base = results["untraced"]
    print(f"full in-process read ({len(recorded)} APDUs), median of {args.rounds}:")
    for name, seconds in results.items():
        print(f"  {name:15s} {seconds * 1000:8.2f} ms   ratio {seconds / base:5.2f}")
    policy_seconds = statistics.median(feeds)
    print(f"  redaction policy alone: {policy_seconds * 1e6 / max(1, len(recorded)):.1f} µs per exchange "
          f"({policy_seconds / base * 100:.1f} % of the untraced read)")


if __name__ == "__main__":
    main()
