"""Screenshot an HTML run report with headless Chromium (for docs/report.png in the README).

    .venv/bin/python scripts/report_screenshot.py                        # reports/latest/index.html
    .venv/bin/python scripts/report_screenshot.py --report reports/<run-id>/index.html
    .venv/bin/python scripts/report_screenshot.py --synthetic            # no demo run needed

Needs Chromium from the distribution (``apt-get install chromium``) and Playwright's Python
package (the ``dev`` extra); it never downloads a browser. ``--synthetic`` renders a report of
14 synthetic nightly runs (tests/synthetic_runs.py) instead of a real one.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def synthetic_report(folder: Path, nights: int = 14) -> Path:
    sys.path.insert(0, str(ROOT / "tests"))
    from synthetic_runs import synthetic_session

    for night in range(nights):
        synthetic_session(folder, run_index=night, cases=60, intervals=night == nights - 1).finish()
    return (folder / "reports" / "latest" / "index.html").resolve()


def screenshot(report: Path, out: Path, *, width: int, max_height: int) -> None:
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("chromium is not installed (apt-get install chromium)")
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as profile, sync_playwright() as playwright:
        browser = playwright.chromium.launch_persistent_context(
            profile,
            executable_path=chromium,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": width, "height": 900},
        )
        try:
            page = browser.new_page()
            page.route(
                "**/*",
                lambda r: r.continue_() if r.request.url.startswith("file://") else r.abort(),
            )
            page.goto(report.resolve().as_uri(), wait_until="load")
            height = min(max_height, page.evaluate("document.documentElement.scrollHeight"))
            page.screenshot(
                path=str(out),
                full_page=True,
                clip={"x": 0, "y": 0, "width": width, "height": height},
            )
        finally:
            browser.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--report", type=Path, default=ROOT / "reports/latest/index.html")
    parser.add_argument("--synthetic", action="store_true", help="screenshot synthetic runs")
    parser.add_argument("--out", type=Path, default=ROOT / "docs/report.png")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--max-height", type=int, default=3000)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        report = synthetic_report(Path(tmp)) if args.synthetic else args.report
        if not report.is_file():
            raise SystemExit(f"{report} does not exist: run `pytest evals/` or pass --synthetic")
        screenshot(report, args.out, width=args.width, max_height=args.max_height)
    print(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
