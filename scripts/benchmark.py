"""Measure tokenisation, training and inference speed (and peak memory) on this machine, in one run.

    python scripts/benchmark.py --model outputs/imdb --json benchmark.json
    python scripts/benchmark.py --quick --model outputs/tiny     # under 2 minutes

1. tokenisation: reviews/s of the project's tokenizer (batched, all cores) vs spaCy's `spacy.blank("en")` tokenizer,
   both over the same IMDB reviews, one text at a time for spaCy as the notebooks run it; each the fastest of 3 passes;
2. training: real (non-pad) tokens/s of Trainer steps with the config's model, the pad share of the batches, and the
   LSTM's useful GFLOP/s divided by a large float32 matrix multiply's GFLOP/s measured in the same process;
   training runs as the config trains here (bf16 autocast where the hardware runs it fast) and, if that is bf16,
   also in float32; the bf16 run is also compared with a bf16 matrix multiply;
3. inference: reviews/s and accuracy of batched prediction (`hf_lstm.prediction.predict`: the pipeline, fed the
   shortest reviews first) on the test split, fp32, int8 dynamic quantisation and, where bf16 is fast (a GPU with
   bf16, a CPU with AMX), bf16; then the model exported to ONNX (`scripts/export_onnx.py`) and run by ONNX Runtime
   in float32 and int8 (`onnx_fp32`, `onnx_int8`), in the same run (the most int8 can gain on this CPU:
   `python docs/probes/int8_bound.py`);
4. peak resident memory of training and of inference (and peak GPU memory on a GPU).

The same command runs on a GPU machine: training and the fp32/bf16 inference run on the GPU (cuDNN LSTM), the
matrix-multiply ceilings are measured on the GPU, and int8 inference, a CPU kernel, runs on the CPU. The spaCy
comparison is skipped, with a note, where spaCy is not installed (`pip install -e .[dev]` installs it).
"""

from dataclasses import dataclass, field

from transformers import HfArgumentParser

from hf_lstm.benchmarking import run_benchmark


@dataclass
class BenchmarkArguments:
    model: str = field(default="outputs/imdb", metadata={"help": "A trained IMDB model folder, for inference."})
    config: str = field(default="configs/imdb.yaml", metadata={"help": "Training config whose model is timed."})
    quick: bool = field(default=False, metadata={"help": "Small samples: finishes in under 2 minutes."})
    json: str | None = field(default=None, metadata={"help": "Also write the results to this JSON file."})
    train_steps: int = field(default=60, metadata={"help": "Training steps timed (after 5 warm-up steps)."})


def main(argv=None):
    (args,) = HfArgumentParser(BenchmarkArguments).parse_args_into_dataclasses(args=argv)
    return run_benchmark(args)


if __name__ == "__main__":
    main()
