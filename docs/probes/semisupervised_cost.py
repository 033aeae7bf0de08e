"""What each unlabelled-text loss term costs per training step, measured side by side in one process.

Times `--steps` optimiser steps (after 3 warm-up steps) of `LSTMTrainer` for the config's model with each term added
in turn, on the same prepared data (the training split plus the unlabelled reviews), and prints seconds per step and
the ratio to the plain step as JSON lines.

    python docs/probes/semisupervised_cost.py configs/imdb_semisupervised.yaml --steps 8
"""

import argparse
import json
import logging
import time
from dataclasses import replace

import torch
from transformers import TrainerCallback, set_seed

from hf_lstm.arguments import parse_arguments
from hf_lstm.benchmarking import synchronize
from hf_lstm.data import prepare_data
from hf_lstm.hardware import cpu_threads, machine_description
from hf_lstm.training import build_model, build_trainer

logger = logging.getLogger(__name__)

OFF = {"normalize_embeddings": False, "virtual_adversarial_epsilon": 0.0, "entropy_weight": 0.0}
NORMALISED = {"normalize_embeddings": True}
VARIANTS = {  # (the options on top of OFF, whether the unlabelled reviews are read)
    "plain": ({}, False),
    "normalised embeddings": (NORMALISED, False),
    "virtual adversarial, labelled only": (NORMALISED | {"virtual_adversarial_epsilon": 5.0}, False),
    "virtual adversarial + entropy, labelled + unlabelled": (
        NORMALISED | {"virtual_adversarial_epsilon": 5.0, "entropy_weight": 1.0}, True),
}  # adversarial training (`--adversarial_epsilon`, removed 2026-12-08) was timed by commit 0943dd8's copy


class StepTimer(TrainerCallback):
    def __init__(self, warmup):
        self.warmup, self.started = warmup, None

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == self.warmup:
            synchronize()
            self.started = time.perf_counter()


def seconds_per_step(config, options, unlabelled, steps, warmup=3):
    """Seconds per optimiser step of the config's run with the model options `options`, reading the unlabelled
    reviews or not (the config must name them, so that every variant trains on the same prepared data)."""
    model_args, data_args, training_args = parse_arguments(
        [config, "--output_dir", "/tmp/semisupervised_cost", "--word2vec_epochs", "0",
         "--max_steps", str(steps + warmup), "--eval_strategy", "no", "--save_strategy", "no",
         "--logging_strategy", "no", "--load_best_model_at_end", "false", "--report_to", "none",
         "--disable_tqdm", "true"]
    )
    values = OFF | options
    model_args = replace(model_args, normalize_embeddings=values.pop("normalize_embeddings"))
    for name, value in values.items():  # the objectives' weights: training arguments
        setattr(training_args, name, value)
    splits, tokenizer, names = prepare_data(data_args)
    set_seed(0)
    model = build_model(model_args, data_args, tokenizer, names)
    trainer = build_trainer(model, tokenizer, splits, names, splits["unlabelled"] if unlabelled else None,
                            training_args, time.time())
    timer = StepTimer(warmup)
    trainer.add_callback(timer)
    trainer.train()
    synchronize()
    return (time.perf_counter() - timer.started) / steps


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS),
                        help="Which variants to time (the plain step is always timed first, for the ratio).")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    torch.set_num_threads(cpu_threads(None))
    logger.warning("%s, %d threads", machine_description(), torch.get_num_threads())
    plain = None
    for name in dict.fromkeys(["plain", *args.variants]):
        options, unlabelled = VARIANTS[name]
        seconds = seconds_per_step(args.config, options, unlabelled, args.steps)
        plain = plain or seconds
        print(json.dumps({"variant": name, "s_per_step": round(seconds, 3), "x_plain": round(seconds / plain, 2)}),
              flush=True)


if __name__ == "__main__":
    main()
