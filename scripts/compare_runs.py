"""Compare finished training runs: one PNG of their validation curves and a markdown table of their test results,
ending with the mean, standard deviation and range of the test metric over the runs (e.g. the seeds of a config).

    python scripts/compare_runs.py outputs/imdb outputs/imdb_gru outputs/imdb_rnn --png docs/figures/cells.png
"""

import json
import statistics
from dataclasses import dataclass, field
from pathlib import Path

from transformers import HfArgumentParser

from hf_lstm.plots import validation_curves_png


@dataclass
class CompareArguments:
    png: str = field(metadata={"help": "Where to write the validation-curve plot."})
    metric: str = field(default="accuracy", metadata={"help": "Validation metric to plot and test metric to list."})
    title: str = field(default="", metadata={"help": "Plot title."})


def main(argv=None):
    parser = HfArgumentParser(CompareArguments)
    parser.add_argument("runs", nargs="+", help="Output folders written by scripts/train.py.")
    args, positional = parser.parse_args_into_dataclasses(args=argv)
    histories, rows, tests = {}, [], []
    for run in map(Path, positional.runs):
        results = json.loads((run / "all_results.json").read_text())
        history = histories[run.name] = json.loads((run / "log_history.json").read_text())
        (train,) = [entry for entry in history if "train_runtime" in entry]
        tests.append(results["test"][f"test_{args.metric}"])
        rows.append(
            f"| `{run.name}` | {tests[-1]:.4f} | {results['best_validation']['value']:.4f}"
            f" | {results['wall_time_s'] / 60:.1f} min | {train['train_runtime'] / train['epoch'] / 60:.1f} min |"
        )
    Path(args.png).write_bytes(validation_curves_png(histories, args.metric, args.title))
    print(f"| run | test {args.metric} | best validation | wall time (all steps) | training time per epoch |")
    print("|---|---|---|---|---|")
    print("\n".join(rows))
    if len(tests) > 1:
        print(
            f"\ntest {args.metric} over {len(tests)} runs: mean {statistics.mean(tests):.4f}, standard deviation "
            f"{statistics.stdev(tests):.4f}, range {min(tests):.4f}-{max(tests):.4f}"
        )


if __name__ == "__main__":
    main()
