import subprocess
import sys

import pytest

from hf_lstm.cli import MissingExtra, one_error_line, require_extra

HIDE = """
import sys

sys.modules.update(dict.fromkeys({names}))  # as if the install extras were not installed: find_spec gives None
"""


def test_a_missing_extra_is_named_with_the_pip_install_to_run():
    require_extra("onnx", "json")  # installed: nothing happens
    with pytest.raises(MissingExtra, match=r"^no_such_module is not installed; this command needs the \[onnx\] "
                                           r"extra: pip install -e '\.\[onnx\]'$"):
        require_extra("onnx", "json", "no_such_module")  # a library caller gets an exception
    with pytest.raises(SystemExit, match=r"^error: no_such_module is not installed; this command needs the \[onnx\] "
                                         r"extra: pip install -e '\.\[onnx\]'$"):
        with one_error_line():  # a script gets one line
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


def test_without_the_extras_a_model_trains_predicts_and_scores(tmp_path):
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "sitecustomize.py").write_text(
        HIDE.format(names={"onnx", "onnxruntime", "onnxscript", "gradio"}))
    env = {"PYTHONPATH": str(tmp_path / "site"), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    model = str(tmp_path / "model")
    for command in (["scripts/train.py", "configs/tiny.yaml", "--num_train_epochs", "1", "--output_dir", model,
                     "--cache_dir", str(tmp_path / "cache")],
                    ["scripts/predict.py", "--model", model, "a fine film"],
                    ["scripts/score.py", model, "data/amazon-multidomain/amazon_multidomain.parquet", "--group_by",
                     "domain"]):
        result = subprocess.run([sys.executable, *command], capture_output=True, text=True, timeout=600, env=env)
        assert result.returncode == 0, (command, result.stderr[-2000:])
