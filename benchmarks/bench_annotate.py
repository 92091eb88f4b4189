"""Next-query paint latency of `alc-data annotate` in headless Chromium, with and without prefetching.

Measured in the page: from the answer key's event time to the moment the next query's image, outline,
marker and crop are drawn (a frame callback after drawing), not only the JSON call. Demo images of
PASCAL size (500×375), one round of SIM queries, a real `alc-data annotate` server subprocess; the
baseline is the same page with prefetching off (``?prefetch=0``: the next image is fetched and decoded
only after the key). The annotator "thinks" ``--think`` seconds per query, as a person does.

    python benchmarks/bench_annotate.py [--queries 40] [--images 30] [--think 0.5] [--screenshot docs/annotate.png] [--json]

Needs `chromium` on PATH and playwright (the `test` extra).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def measure(browser, url: str, n: int, think: float, screenshot: Path | None = None) -> dict:
    """Answer ``n`` queries with Enter/y; latencies (ms) from key to the next query drawn."""
    page = browser.new_page(viewport={"width": 1280, "height": 720})
    page.goto(url)
    answered, shot = 0, screenshot is None
    while answered < n:
        page.wait_for_function("document.body.dataset.shownId || document.body.dataset.done", timeout=30_000)
        if page.evaluate("document.body.dataset.done"):
            break
        qid = page.evaluate("document.body.dataset.shownId")
        time.sleep(think)
        if not shot and answered >= 3 and "background" not in page.inner_text("#question"):
            page.screenshot(path=str(screenshot))  # a query about an object class, a few answers in
            shot = True
        page.keyboard.press("y" if answered % 4 else "Enter")
        page.wait_for_function(f"document.body.dataset.shownId !== '{qid}'", timeout=30_000)
        answered += 1
    page.wait_for_timeout(200)
    keys = page.evaluate("window.__alc.keys")
    paints = page.evaluate("window.__alc.paints")
    page.close()
    latencies = []
    for k in keys:
        after = [p["t"] for p in paints if p["t"] > k["t"]]
        if after:
            latencies.append(min(after) - k["t"])
    return {
        "answers": answered,
        "p50_ms": round(statistics.median(latencies), 1),
        "p95_ms": round(percentile(latencies, 95), 1),
        "max_ms": round(max(latencies), 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--queries", type=int, default=40)
    ap.add_argument("--images", type=int, default=30)
    ap.add_argument("--think", type=float, default=0.5, help="seconds the annotator looks at each query")
    ap.add_argument("--screenshot", type=Path, default=None, help="save a screenshot of the page here")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    os.environ.setdefault("ALC_PROGRESS", "0")

    from playwright.sync_api import sync_playwright

    from alc_data.testing.annotate import launch_chromium, open_round_workspace, start_server

    if shutil.which("chromium") is None:
        raise SystemExit("needs `chromium` on PATH (apt-get install chromium)")
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        ws = open_round_workspace(Path(tmp) / "ws", n_train=args.images, size=(375, 500), budget=args.queries + 4)
        build_s = time.perf_counter() - t0
        ids = [q.image_id for r in ws.ledger.rounds() for q in ws.ledger.queries(r.round)][: args.queries]
        switches = sum(a != b for a, b in zip(ids, ids[1:]))
        shutil.copytree(ws.root, Path(tmp) / "ws-baseline")
        results = {}
        with sync_playwright() as p:
            browser = launch_chromium(p)
            for name, root, query in (("no prefetch (baseline)", Path(tmp) / "ws-baseline", "?prefetch=0"),
                                      ("prefetch", ws.root, "")):
                proc, url = start_server(root, "--annotator", "bench")
                try:
                    results[name] = measure(browser, url + query, args.queries, args.think,
                                            args.screenshot if name == "prefetch" else None)
                finally:
                    proc.kill()
                    proc.wait()
            browser.close()
    out = {"image_size": "500x375", "queries": args.queries, "image_switches": switches, "think_s": args.think,
           "workspace_build_s": round(build_s, 1), "results": results}
    if args.json:
        print(json.dumps(out, indent=2))
        return
    print(f"next-query paint latency, {args.queries} queries on 500×375 images ({switches} image changes), "
          f"{args.think} s per query:")
    for name, r in results.items():
        print(f"  {name:24s} p50 {r['p50_ms']:7.1f} ms   p95 {r['p95_ms']:7.1f} ms   max {r['max_ms']:7.1f} ms")


if __name__ == "__main__":
    main()
