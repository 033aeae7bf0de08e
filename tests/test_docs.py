"""The documentation: every relative link and anchor resolves, and the product's files speak to its users (no words
about how the project is run)."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*#*\s*$", re.M)
FENCE = re.compile(r"^```.*?^```", re.M | re.S)

# Words that describe how the project is run rather than the product: a user cannot know what they mean.
PROJECT_TALK = re.compile(
    r"\bsessions?\b|\blent\b|\bissues?\s*#?\d+|\(issue\b|\bdevelopment (machine|cpu)\b"
    r"|\b(first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|eleventh|twelfth|this|next|previous"
    r"|earlier|each|every)\s+rounds?\b|\brounds?\s+of\s+(variants|experiments|runs|sweeps)\b|\bround\s+\d+\b",
    re.I,
)
TEXT_SUFFIXES = {".md", ".py", ".yaml", ".yml", ".json", ".cfg", ".toml", ".txt", ""}


def tracked_files():
    names = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    return [ROOT / name for name in names]


def slug(heading):
    """GitHub's anchor for a heading: lower-case, punctuation other than '-' and '_' dropped, spaces to '-'."""
    text = re.sub(r"[`*]", "", heading).strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(markdown):
    seen, result = {}, set()
    for heading in HEADING.findall(FENCE.sub("", markdown)):
        base = slug(heading)
        count = seen.get(base, 0)
        result.add(base if count == 0 else f"{base}-{count}")
        seen[base] = count + 1
    return result


MARKDOWN = [path for path in tracked_files() if path.suffix == ".md" and not path.is_relative_to(ROOT / "data")]


@pytest.mark.parametrize("document", MARKDOWN, ids=lambda path: str(path.relative_to(ROOT)))
def test_every_relative_link_and_anchor_resolves(document):
    text = document.read_text()
    broken = []
    for target in LINK.findall(FENCE.sub("", text)):
        if re.match(r"^[a-z]+:", target):  # http(s), mailto: not checked offline
            continue
        path, _, anchor = target.partition("#")
        resolved = (document.parent / path).resolve() if path else document
        if not resolved.exists():
            broken.append(f"{target}: no such file")
        elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved.read_text()):
            broken.append(f"{target}: no heading with anchor #{anchor} in {resolved.relative_to(ROOT)}")
    assert not broken, broken


def test_the_readme_reads_in_five_minutes():
    assert len((ROOT / "README.md").read_text()) <= 12_000  # the rest lives in docs/, one page a topic


def test_the_anchor_rule_matches_githubs():
    assert anchors("# configs/clothing.yaml (5 classes)\n## Speed probes\n## Speed probes\n") == {
        "configsclothingyaml-5-classes", "speed-probes", "speed-probes-1"}


def test_no_file_speaks_of_how_the_project_is_run():
    found = []
    for path in tracked_files():
        relative = path.relative_to(ROOT)
        if relative.parts[0] in ("tests", "data") or path.suffix not in TEXT_SUFFIXES or not path.is_file():
            continue
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            match = PROJECT_TALK.search(line)
            if match:
                found.append(f"{relative}:{number}: {match.group(0)!r}")
    assert not found, found


@pytest.mark.parametrize("text, flagged", [
    ("measured in the ninth session", True), ("a lent GPU", True), ("target (issue 4)", True),
    ("the fifth round's recipe", True), ("eight rounds of variants", True), ("see issue #12", True),
    ("round(total * 0.1)", False), ("a push/pull round trip", False), ("excellent", False), ("a silent fix", False),
])
def test_the_word_check_flags_project_talk_and_nothing_else(text, flagged):
    assert bool(PROJECT_TALK.search(text)) is flagged


def readme_blocks(section, language):
    """The fenced `language` blocks of one README section, as lists of lines."""
    text = (ROOT / "README.md").read_text()
    body = text.split(f"\n## {section}\n", 1)[1].split("\n## ", 1)[0]
    return [block.strip("\n").splitlines() for block in re.findall(rf"```{language}\n(.*?)```", body, re.S)]


def test_the_readmes_predict_and_hub_commands_work_as_written(tmp_path, tokenizer):
    """Predict, push, predict from the hub and export as the README writes them, on a tiny model saved as
    outputs/imdb."""
    from .conftest import save_tiny_model

    save_tiny_model(tmp_path / "outputs" / "imdb", tokenizer)
    (tmp_path / "scripts").symlink_to(ROOT / "scripts")
    (tmp_path / "reviews.txt").write_text("A moving film.\nDull.\n")
    hub = str(tmp_path / "hub")
    sections = ("Predict", "Share through a hub directory", "Deploy: ONNX and a demo page")
    commands = [line for section in sections for block in readme_blocks(section, "bash") for line in block]
    ran = 0
    for command in commands:
        command = re.sub(r"\s+#\s.*$", "", command).replace("/shared/hub", hub)
        if command.startswith("accelerate launch"):  # trains the full IMDB model: not a test's work
            continue
        if command.startswith(("python scripts/demo.py", "pip install")):  # serves until stopped (tests/test_demo.py
            continue                                                    # drives it); installs what is installed
        result = subprocess.run(["bash", "-c", command], cwd=tmp_path, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, (command, result.stderr[-2000:])
        ran += 1
    assert ran == 6 and len(list((tmp_path / "hub" / "models--myteam--imdb-lstm" / "snapshots").iterdir())) == 1
    assert (tmp_path / "outputs" / "imdb-onnx" / "model_quantized.onnx").is_file()
    for section in sections:
        for block in readme_blocks(section, "python"):
            code = "\n".join(block).replace("/shared/hub", hub)
            result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True,
                                    timeout=300, env={**os.environ, "HF_HUB_OFFLINE": "1"})
            assert result.returncode == 0, (code, result.stderr[-2000:])
