"""configs/clothing.yaml with title and review joined by " . " instead of " " (a probe, not an option).

    python docs/probes/title_separator.py --seed 42 --output_dir outputs/probes/csep_s42
"""
import sys
import hf_lstm.data as data
from hf_lstm.training import run

original = data.join_texts


def join_with_period(dataset, text_columns, source):
    def join(batch):
        rows = zip(*(batch[column] for column in text_columns))
        return {"text": [" . ".join(part for part in row if isinstance(part, str) and part.strip()) for row in rows]}
    missing = [column for column in text_columns if column not in dataset.column_names]
    assert not missing, missing
    return dataset.map(join, batched=True, desc="Joining text columns with ' . '")


data.join_texts = join_with_period
data.PREPARED_FORMAT = "separator-probe"  # its own cache entry
run(["configs/clothing.yaml", *sys.argv[1:]])
