"""The README's pictures: the demo page (serve scripts/demo.py for a model, type a review in headless Chromium,
submit, and save a screenshot) and, with --report, the top of an HTML report of scripts/explain.py.

    python docs/probes/demo_screenshot.py --model outputs/imdb --out docs/figures/demo.png
    python docs/probes/demo_screenshot.py --report mistakes.html --out docs/figures/explanations.png
"""

import argparse
import shutil
import socket
import subprocess
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

REVIEW = ("The first half hour drags, but once the two leads finally share the screen the film comes alive; "
          "a warm, funny and surprisingly moving story.")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="outputs/imdb")
    parser.add_argument("--out", default="docs/figures/demo.png")
    parser.add_argument("--report", help="Instead: an HTML report of scripts/explain.py to picture.")
    args = parser.parse_args()
    if args.report:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=shutil.which("chromium"), args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1000, "height": 700})
            page.goto(f"file://{Path(args.report).resolve()}")
            page.screenshot(path=args.out)
            browser.close()
        return
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([sys.executable, "scripts/demo.py", "--model", args.model, "--port", str(port)],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        url = next(line.split("URL:")[1].strip() for line in server.stdout if "Running on local URL" in line)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=shutil.which("chromium"), args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1000, "height": 820})
            page.goto(url, wait_until="networkidle")
            page.locator("#review textarea").fill(REVIEW)
            page.get_by_role("button", name="Submit").click()
            page.locator('#prediction [data-testid="label-output-value"]').wait_for(timeout=60_000)
            page.locator("#words").wait_for(timeout=60_000)
            page.wait_for_timeout(500)  # let the bars finish growing
            page.screenshot(path=args.out)
            print(args.out, page.locator('#prediction [data-testid="label-output-value"]').inner_text())
            browser.close()
    finally:
        server.terminate()


if __name__ == "__main__":
    main()
