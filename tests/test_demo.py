"""The demo page, served by scripts/demo.py and used in a real browser (Debian's headless Chromium, via Playwright)."""

import shutil
import socket
import subprocess
import sys
import time

import pytest
from playwright.sync_api import sync_playwright

from hf_lstm.demo import EXAMPLES
from hf_lstm.prediction import load_classifier, predict

from .conftest import save_tiny_model

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
REVIEW = "A wonderful film, the acting is great and the story moving."


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def serve(tmp_path):
    """Start scripts/demo.py for a model folder on a free local port; yields its URL; stops it afterwards."""
    servers = []

    def start(model_dir):
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "scripts/demo.py", "--model", str(model_dir), "--port", str(port)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        servers.append(server)
        started = time.time()
        for line in server.stdout:  # Gradio prints the address once it serves
            if "Running on local URL" in line:
                return line.split("URL:")[1].strip()
            assert time.time() - started < 120, "the demo did not start within 2 minutes"
        raise AssertionError(f"the demo exited with code {server.wait()}")

    yield start
    for server in servers:
        server.terminate()
        server.wait(timeout=30)


def submit_in_browser(url, text, screenshot, shown_at='#prediction [data-testid="label-output-value"]', highlights=None):
    """Open `url` in headless Chromium, type `text`, submit; returns the text shown at `shown_at` (the prediction
    block's heading) and the bars' values {class: probability}; appends the highlighted review's text to
    `highlights`."""
    highlights = [] if highlights is None else highlights
    assert CHROMIUM, "the browser test needs Debian's chromium: apt-get install chromium (.ci/run installs it)"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1100, "height": 650})
        page.goto(url, wait_until="networkidle")
        for example in EXAMPLES:  # the example reviews are offered
            assert page.get_by_text(example[:30]).count() >= 1
        page.locator("#review textarea").fill(text)
        page.get_by_role("button", name="Submit").click()
        page.locator("#prediction meter, #prediction [data-testid='label-output-value']").first.wait_for(
            timeout=60_000)  # appears once the prediction is back
        label = page.locator(shown_at)
        shown = label.input_value() if shown_at.endswith("textarea") else label.inner_text().strip()
        bars = {meter.get_attribute("aria-label"): float(meter.get_attribute("value"))
                for meter in page.locator("#prediction meter").all()}
        highlights.extend(page.locator("#words").all_inner_texts())
        page.screenshot(path=str(screenshot), full_page=True)
        browser.close()
    return shown, bars


def test_the_demo_page_shows_predicts_label_and_probabilities_in_a_browser(serve, tmp_path, tokenizer):
    model_dir = save_tiny_model(tmp_path / "model", tokenizer)
    url = serve(model_dir)
    assert url.startswith("http://127.0.0.1:")  # local only unless --host says otherwise
    highlights = []
    shown, bars = submit_in_browser(url, REVIEW, tmp_path / "demo.png", highlights=highlights)
    (expected,) = predict(load_classifier(str(model_dir)), [REVIEW])
    assert "wonderful" in highlights[0] and "moving" in highlights[0]  # the review, its words highlighted
    assert shown == expected["label"]
    assert bars.keys() == expected["probabilities"].keys()  # a bar for every class
    for name, probability in expected["probabilities"].items():
        assert bars[name] == pytest.approx(probability, abs=1e-4)
    assert (tmp_path / "demo.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_demo_page_shows_a_regression_models_rating(serve, tmp_path, tokenizer):
    model_dir = save_tiny_model(tmp_path / "model", tokenizer, regression=True)
    shown, bars = submit_in_browser(serve(model_dir), REVIEW, tmp_path / "demo.png")
    (expected,) = predict(load_classifier(str(model_dir)), [REVIEW])
    assert float(shown) == pytest.approx(expected["rating"], abs=1e-3) and bars == {}


def test_the_demo_page_shows_a_multi_label_models_labels_and_a_bar_per_label(serve, tmp_path, tokenizer):
    model_dir = save_tiny_model(tmp_path / "model", tokenizer, multi_label=True)
    shown, bars = submit_in_browser(serve(model_dir), REVIEW, tmp_path / "demo.png", shown_at="#labels textarea")
    (expected,) = predict(load_classifier(str(model_dir)), [REVIEW])
    assert expected["labels"] and shown == ", ".join(expected["labels"])
    assert bars == pytest.approx(expected["scores"], abs=1e-4)  # every label's probability, not summing to 1


def test_a_busy_port_is_one_error_line_before_the_model_is_loaded(tmp_path):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "scripts/demo.py", "--model", str(tmp_path / "no-model"), "--port", str(port)],
            capture_output=True, text=True, timeout=120,
        )
    assert result.returncode == 1
    assert result.stderr.strip() == f"error: 127.0.0.1:{port} cannot be served (Address already in use); pass " \
                                    "another --port"


def test_an_onnx_export_is_served_without_highlights_and_the_page_says_why(tmp_path, tokenizer):
    from hf_lstm.demo import build_demo
    from hf_lstm.onnx_model import export_onnx  # the [onnx] extra

    model_dir = save_tiny_model(tmp_path / "model", tokenizer)
    export_onnx(model_dir, tmp_path / "onnx")
    demo = build_demo(load_classifier(str(tmp_path / "onnx"), backend="onnx"))
    (expected,) = predict(load_classifier(str(model_dir)), [REVIEW])
    assert demo.fn(REVIEW) == pytest.approx(expected["probabilities"], abs=1e-4)  # the bars alone
    assert "Word highlights: explanations need the PyTorch model" in demo.description
    shown, words = build_demo(load_classifier(str(model_dir))).fn(REVIEW)
    assert "".join(piece for piece, _ in words) == REVIEW  # the whole review, its words scored
    assert max(abs(value) for _, value in words if value is not None) == pytest.approx(1.0)
