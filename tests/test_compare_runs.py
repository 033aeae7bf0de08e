import json
import subprocess
import sys


def write_run(folder, test_accuracy, validation):
    folder.mkdir()
    results = {"test": {"test_accuracy": test_accuracy}, "best_validation": {"value": max(validation)},
               "wall_time_s": 120.0}
    history = [{"eval_accuracy": value, "epoch": epoch + 1} for epoch, value in enumerate(validation)]
    history.append({"train_runtime": 90.0, "epoch": len(validation)})
    (folder / "all_results.json").write_text(json.dumps(results))
    (folder / "log_history.json").write_text(json.dumps(history))


def test_table_plot_and_mean_over_seeds(tmp_path):
    for seed, accuracy in ((42, 0.90), (43, 0.91), (44, 0.92)):
        write_run(tmp_path / f"seed{seed}", accuracy, [0.85, accuracy + 0.01])
    png = tmp_path / "curves.png"
    result = subprocess.run(
        [sys.executable, "scripts/compare_runs.py", *(str(tmp_path / f"seed{s}") for s in (42, 43, 44)),
         "--png", str(png)],
        capture_output=True, text=True, check=True,
    )
    assert "| `seed43` | 0.9100 | 0.9200 | 2.0 min | 0.8 min |" in result.stdout
    assert "over 3 runs: mean 0.9100, standard deviation 0.0100, range 0.9000-0.9200" in result.stdout
    assert png.read_bytes().startswith(b"\x89PNG")
