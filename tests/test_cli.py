import subprocess
import sys

import pytest

from hf_lstm.cli import require_extra

HIDE = """
import sys

sys.modules.update(dict.fromkeys({names}))  # as if the install extras were not installed: find_spec gives None
"""


def test_a_missing_extra_is_named_with_the_pip_install_to_run():
    require_extra("onnx", "json")  # installed: nothing happens
    with pytest.raises(SystemExit, match=r"^error: no_such_module is not installed; this command needs the \[onnx\] "
                                         r"extra: pip install -e '\.\[onnx\]'$"):
        require_extra("onnx", "json", "no_such_module")


@pytest.mark.parametrize("script, arguments, extra", [
    ("scripts/export_onnx.py", ["outputs/imdb", "outputs/imdb-onnx"], "onnx"),
    ("scripts/predict.py", ["--model", "outputs/imdb-onnx", "--backend", "onnx", "a film"], "onnx"),
    ("scripts/demo.py", ["--model", "outputs/imdb"], "demo"),
])
def test_each_command_that_needs_an_extra_stops_with_one_line_without_it(tmp_path, script, arguments, extra):
    (tmp_path / "sitecustomize.py").write_text(HIDE.format(names={"onnx", "onnxruntime", "onnxscript", "gradio"}))
    result = subprocess.run([sys.executable, script, *arguments], capture_output=True, text=True, timeout=120,
                            env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert result.returncode == 1, result.stderr[-2000:]
    assert result.stderr.strip().splitlines()[-1].endswith(f"this command needs the [{extra}] extra: "
                                                          f"pip install -e '.[{extra}]'")
