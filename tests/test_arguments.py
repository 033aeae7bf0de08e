"""Every value is checked when the command line (or config file) is parsed: one `error:` line, before any data."""

import subprocess
import sys

import pytest

from hf_lstm.arguments import ArgumentError, settle_multi_label_settings
from hf_lstm.training import main, parse_arguments


def refusal(*arguments, config="configs/tiny.yaml"):
    with pytest.raises(ArgumentError) as caught:
        parse_arguments([config, *arguments])
    return str(caught.value)


@pytest.mark.parametrize("arguments, message", [
    (["--pooling", "avg"], "argument --pooling: invalid choice: 'avg'"),
    (["--cell_type", "lstmx"], "argument --cell_type/--cell-type: invalid choice: 'lstmx'"),
    (["--truncation", "tail"], "argument --truncation: invalid choice: 'tail'"),
    (["--dropout", "-0.5"], r"--dropout is a probability in [0, 1); got -0.5"),
    (["--dropout", "1.5"], r"--dropout is a probability in [0, 1); got 1.5"),
    (["--learning_rate", "-0.01"], "--learning_rate must be above 0; got -0.01"),
    (["--num_train_epochs", "0"], "--num_train_epochs must be above 0 (or give --max_steps); got 0.0"),
    (["--task", "foo"], "argument --task: invalid choice: 'foo'"),
    (["--cpu_threads", "0"], "--cpu_threads must be at least 1; got 0"),
    (["--hidden_size", "0"], "--hidden_size must be a whole number of at least 1; got 0"),
    (["--test_file", "t.csv"], "--validation_file and --test_file need --train_file"),
    (["--entropy_weight", "1"], "--entropy_weight works on unlabelled reviews: give --unlabelled_data"),
    (["--unlabelled_data", "unsupervised"], "--unlabelled_data is read only by --word2vec_epochs, --normalize_embeddings, --virtual_adversarial_epsilon"),
    (["--unlabelled_data", "test", "--entropy_weight", "1"], "--unlabelled_data test: validation and test text is "
                                                             "never trained on"),
    (["--task", "regression", "--metric_for_best_model", "rmse", "--entropy_weight", "1", "--unlabelled_data", "train"],
     "--entropy_weight is for classification"),
    (["--virtual_adversarial_epsilon", "-1"], "--virtual_adversarial_epsilon must be 0 (off) or positive; got -1.0"),
    (["--virtual_adversarial_xi", "0"], "--virtual_adversarial_xi must be positive; got 0.0"),
    (["--unlabelled_batch_ratio", "0"], "--unlabelled_batch_ratio must be above 0; got 0.0"),
    (["--unlabelled_max_length", "0"], "--unlabelled_max_length must be at least 1; got 0"),
])
def test_a_bad_value_is_refused_naming_the_field(arguments, message):
    # beside a dataset that does not exist: the value is refused first, when parsed, before any data is read
    assert refusal(*arguments, "--dataset_name", "no/such/folder").startswith(message)


def test_a_lower_is_better_metric_keeps_the_lowest_epoch_and_a_contradiction_is_refused():
    _, _, training_args = parse_arguments(["configs/tiny.yaml", "--task", "regression",
                                              "--metric_for_best_model", "rmse"])
    assert training_args.greater_is_better is False  # the worst epoch was kept when this defaulted to True
    _, _, training_args = parse_arguments(["configs/tiny.yaml"])
    assert training_args.greater_is_better is True  # accuracy
    assert refusal("--task", "regression", "--metric_for_best_model", "mae", "--greater_is_better", "true") == (
        "--greater_is_better true contradicts --metric_for_best_model mae, where lower is better: drop "
        "--greater_is_better"
    )


def test_a_metric_the_task_does_not_report_is_refused_before_training():
    assert refusal("--task", "regression").startswith(  # tiny.yaml selects on accuracy
        "--metric_for_best_model accuracy is not a regression metric (those are rmse, mae, loss)"
    )


def test_regression_and_multi_label_start_the_head_bias_at_the_labels_prior_unless_told_otherwise():
    arguments = ["configs/tiny.yaml", "--task", "regression", "--metric_for_best_model", "rmse"]
    assert parse_arguments(arguments)[0].head_bias_from_labels is True
    assert parse_arguments(arguments + ["--head_bias_from_labels", "false"])[0].head_bias_from_labels is False
    for multi_label in (False, True):  # a classifier's default waits for its data: on for multi-label only
        model_args, _, training_args = parse_arguments(["configs/tiny.yaml", "--metric_for_best_model", "loss"])
        assert model_args.head_bias_from_labels is None
        settle_multi_label_settings(model_args, training_args, multi_label)
        assert model_args.head_bias_from_labels is multi_label


def test_the_loss_is_logged_every_50_steps_and_evaluation_stays_once_an_epoch():
    _, _, training_args = parse_arguments(["configs/tiny.yaml"])
    assert (training_args.logging_strategy, training_args.logging_steps) == ("steps", 50)
    assert training_args.eval_strategy == "epoch"


def test_an_unknown_option_suggests_the_near_one():
    assert refusal("--hiden_size", "8") == "unknown option --hiden_size; did you mean --hidden_size?"


def test_a_missing_config_file_suggests_the_near_one():
    assert refusal(config="configs/tyny.yaml") == "configs/tyny.yaml: no such config file; did you mean configs/tiny.yaml?"


@pytest.mark.parametrize("text, message", [
    ("hidden_size: [8\n", r"bad.yaml: not valid YAML \(line 2\)"),
    ("hidden_size: eight\n", r"bad.yaml: hidden_size: 'eight' is not a valid value"),
    ("pooling: avg\n", r"bad.yaml: pooling: 'avg' is not one of last, mean"),
    ("- hidden_size\n", r"bad.yaml: expected `field: value` lines, got list"),
])
def test_a_broken_config_file_names_the_file_and_field(tmp_path, text, message):
    config = tmp_path / "bad.yaml"
    config.write_text(text)
    with pytest.raises(ArgumentError, match=message):
        parse_arguments([str(config)])


def test_a_shape_field_asked_for_beside_a_saved_model_is_refused(tmp_path, tokenizer):
    from .conftest import save_tiny_model

    base = save_tiny_model(tmp_path / "base", tokenizer)
    message = refusal("--model_name_or_path", str(base), "--hidden_size", "64")
    assert message.startswith(f"--hidden_size 64 differs from {base}'s hidden_size 6: a model started from a saved "
                              "one keeps its shape")


def test_main_turns_a_refusal_into_one_error_line():
    with pytest.raises(SystemExit) as caught:
        main(["configs/tiny.yaml", "--dropout", "1.5"])
    assert caught.value.code == "error: --dropout is a probability in [0, 1); got 1.5"


def test_the_command_line_prints_one_line_not_the_usage_or_a_traceback(tmp_path):
    result = subprocess.run([sys.executable, "scripts/train.py", "configs/tiny.yaml", "--hiden_size", "8"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert result.stderr.strip() == "error: unknown option --hiden_size; did you mean --hidden_size?"
    assert result.stdout == ""


def test_help_groups_the_options_and_shows_the_config_file():
    result = subprocess.run([sys.executable, "scripts/train.py", "--help"], capture_output=True, text=True, timeout=120)
    assert result.stdout.startswith("usage: python scripts/train.py [CONFIG.yaml] [--field value ...]")
    groups = [result.stdout.index(f"\n{group}") for group in ("model (", "data (", "run (", "Trainer (")]
    assert groups == sorted(groups)  # the project's own options first, grouped, then the Trainer's
    own, trainer = result.stdout[groups[2]:groups[3]], result.stdout[groups[3]:]
    assert "--resume" in own and "--virtual_adversarial_epsilon" in own and "--learning_rate" in trainer
    for refused in ("--do_train", "--push_to_hub ", "--resume_from_checkpoint"):  # refused when given: not offered
        assert refused not in result.stdout, refused


def test_the_best_models_metric_has_one_spelling_from_parsing_on():
    _, _, args = parse_arguments(["configs/tiny.yaml", "--metric_for_best_model", "eval_accuracy"])
    assert args.metric_for_best_model == "accuracy" and args.greater_is_better
