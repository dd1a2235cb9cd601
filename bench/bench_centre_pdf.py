"""PDF generation time of the issuance centre's certificates (issue 11).

Prints the median time to render, in this process:
- the baseline: a plain one-page A4 PDF with one line of Japanese text in the same embedded font
  (IPA Gothic) through the same library (reportlab), measured in the same run, interleaved;
- a 住民票の写し of one person (seal, 複写 background, QR code), as `POST /centre/v1/transactions`
  makes it (`register_stub/centre/pdf.py`);
- a 住民票の写し of a six-person household;
and the ratio of each to the baseline: what the layout, the anti-copy pattern and the QR cost.

Run: .venv/bin/python bench/bench_centre_pdf.py [--runs N]
"""

from __future__ import annotations

import argparse
import io
import statistics
import time
from collections.abc import Callable
from datetime import date

from reportlab.lib.pagesizes import A4
from reportlab.pdfgen.canvas import Canvas

from mynacard.register_stub.centre import pdf


def plain_page() -> bytes:
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=A4, invariant=True, pageCompression=1)
    canvas.setFont(pdf._font(), 12)
    canvas.drawString(72, 770, "住民票の写し（ベースライン）")
    canvas.showPage()
    canvas.save()
    return out.getvalue()


def certificate(people: int) -> Callable[[], bytes]:
    rows = [("住所", "東京都千代田区見本町1-2-3"), ("世帯主", "見本　太郎")]
    person = [("氏名", "見本　花子"), ("生年月日", pdf.wareki(date(1985, 4, 12))), ("性別", "女"),
              ("住民となった年月日", pdf.wareki(date(1985, 4, 12))), ("続柄", "妻")]
    page = pdf.Page("住民票の写し", [rows, *[person] * people], "この写しは、住民票の原本と相違ないことを証明する。",
                    "東京都千代田区", "千代田区長", date.today(), "bench-0000000000000001", "ABCD-EFGH-JKLM-NPQR",
                    "http://127.0.0.1:8470/centre/v1/verify/ABCD-EFGH-JKLM-NPQR")
    return lambda: pdf.render(page)[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    cases = {"plain one-page PDF (baseline)": plain_page, "住民票の写し, one person": certificate(1),
             "住民票の写し, household of six": certificate(6)}
    for make in cases.values():  # font registration and the pattern tile are made once per process
        make()
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(args.runs):
        for name, make in cases.items():
            start = time.perf_counter()
            make()
            times[name].append(time.perf_counter() - start)
    base = statistics.median(times["plain one-page PDF (baseline)"])
    print(f"PDF generation, median of {args.runs} runs (reportlab, IPA Gothic embedded):")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"  {name:34s} {median * 1000:8.1f} ms   ratio {median / base:5.1f}")


if __name__ == "__main__":
    main()
