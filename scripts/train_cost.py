"""What a training run's time is made of, dense against the default, on one or more code trees.

    .venv/bin/python scripts/train_cost.py --trees main=/tmp/base,branch=. \
        --data knobs,pads,fader,lightpad-12k --seeds 0 --scale 0.25 --out cost.json

Each data set's test set is held out as ``foretell bench fidelity`` holds it out; then, for each
seed, every (tree, model) pair trains in turn, interleaved, a fresh ``foretell train`` process
each (``PYTHONPATH`` puts the tree's ``foretell`` first). The child process times its own
phases (``--child``): start-up (interpreter, imports, loading) up to ``train()``, data
preparation (split, kinds, target encoding) up to the first epoch, the training steps, the
batches, validation, and saving, each as wall and CPU time (``time.process_time``: every
thread of the process); the parent adds the whole process's wall and CPU time
(``resource.getrusage(RUSAGE_CHILDREN)``, its own children included: the loss-curve painter) and
the saved model's held-out NLL. CPU time is much less noisy than wall on a shared machine.
``--steps N`` instead times N training steps of dense and default taking turns in one process
(``_steps``). This measures; it asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

PROCESS_START_WALL = time.perf_counter()


def _child(record_path: Path, argv: list[str]) -> None:
    """Run ``foretell train ARGV`` here with timers around its phases, then write them out."""
    clocks: dict[str, list[float]] = {}

    def add(name: str, wall: float, cpu: float) -> None:
        total = clocks.setdefault(name, [0.0, 0.0, 0.0])
        total[0] += wall
        total[1] += cpu
        total[2] += 1

    def timed(name: str, function: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            wall, cpu = time.perf_counter(), time.process_time()
            try:
                return function(*args, **kwargs)
            finally:
                add(name, time.perf_counter() - wall, time.process_time() - cpu)

        return wrapper

    marks: dict[str, tuple[float, float]] = {}

    def mark(name: str) -> None:
        marks.setdefault(name, (time.perf_counter(), time.process_time()))

    import foretell.train.loop as loop

    original_train, original_batches = loop.train, loop.epoch_batches

    def train(*args: Any, **kwargs: Any) -> Any:
        mark("train_called")
        result = original_train(*args, **kwargs)
        mark("train_returned")
        record["info"] = {
            k: result.model.info.get(k)
            for k in ("epochs_run", "best_epoch", "best_val_nll", "threads", "stopped")
        }
        return result

    def epoch_batches(*args: Any, **kwargs: Any) -> Any:
        mark("first_epoch")
        iterator = original_batches(*args, **kwargs)
        while True:
            wall, cpu = time.perf_counter(), time.process_time()
            try:
                batch = next(iterator)
            except StopIteration:
                return
            finally:
                add("batches", time.perf_counter() - wall, time.process_time() - cpu)
            yield batch

    loop.train = train
    loop.epoch_batches = epoch_batches
    loop.train_step = timed("step", loop.train_step)
    loop.evaluate = timed("validate", loop.evaluate)
    record: dict[str, Any] = {}
    from foretell.cli import cli

    started_cpu = time.process_time()
    try:
        cli.main(["train", *argv], standalone_mode=False)
    finally:
        end = (time.perf_counter(), time.process_time())
        record["clocks"] = {
            k: [round(v[0], 4), round(v[1], 4), int(v[2])] for k, v in clocks.items()
        }
        record["marks"] = {
            k: [round(w - PROCESS_START_WALL, 4), round(c, 4)] for k, (w, c) in marks.items()
        }
        record["end"] = [round(end[0] - PROCESS_START_WALL, 4), round(end[1], 4)]
        record["cpu_at_main"] = round(started_cpu, 4)
        record_path.write_text(json.dumps(record))


def _steps(names: list[str], seed: int, scale: float, rounds: int) -> None:
    """Training steps of dense and default taking turns in one process (this tree's code, one
    thread): the per-step ratio without the load's drift between runs. Each model first trains
    one epoch (``train()``, seed ``seed``) on the held-out split's trainable part; its last
    batches are then stepped in turn, CPU time per step, median."""
    import torch

    import foretell.train.loop as loop
    from foretell.model.torch_mdrnn import MDRNN
    from foretell.train.batches import split_test
    from foretell.train.config import TrainConfig
    from foretell.train.optim import FlatAdam

    torch.set_num_threads(1)
    for name in names:
        data = split_test(_dataset(name, seed, scale)).trainable
        models: dict[str, Any] = {}
        for model in ("dense", "default"):
            seen: list[Any] = []
            original = loop.train_step

            def keep(
                net: Any,
                optimizer: Any,
                batch: Any,
                *rest: Any,
                seen: Any = seen,
                step: Any = original,
            ) -> Any:
                seen.append(batch)
                return step(net, optimizer, batch, *rest)

            loop.train_step = keep
            kinds = {"kinds": "dense"} if model == "dense" else {}
            config = TrainConfig(units=64, layers=2, size="s", epochs=1, seed=seed, **kinds)
            try:
                result = loop.train(data, config)
            finally:
                loop.train_step = original
            net = MDRNN.from_model_file(result.model)
            models[model] = (net, FlatAdam(net, lr=1e-4, betas=(0.9, 0.99)), seen[-8:], [])
        for index in range(rounds):
            for net, optimizer, batches, times in models.values():
                started = time.process_time()
                loop.train_step(net, optimizer, batches[index % len(batches)], 1.0)
                times.append(time.process_time() - started)
        dense, default = (1000 * statistics.median(models[m][3]) for m in ("dense", "default"))
        load = os.getloadavg()[0]
        print(
            f"{name}: step dense {dense:.2f} ms, default {default:.2f} ms, "
            f"{default / dense:.2f}x (load {load:.1f})",
            flush=True,
        )


def _dataset(name: str, seed: int, scale: float) -> Any:
    from foretell.bench.instruments import INSTRUMENTS
    from foretell.data.dataset import load_dataset

    if name in INSTRUMENTS:
        return INSTRUMENTS[name].dataset(seed, scale)
    return load_dataset(Path("/work/shared/data") / f"{name}.npz")


def _run_one(
    tree: Path, data: Path, out: Path, seed: int, dense: bool, extra: list[str]
) -> dict[str, Any]:
    env = dict(os.environ, PYTHONPATH=str(tree.resolve()))
    record_path = out.with_suffix(".timing.json")
    argv = [str(data), "--size", "s", "--seed", str(seed), "--out", str(out), "--json", *extra]
    if dense:
        argv.append("--dense")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    load = os.getloadavg()[0]
    wall = time.perf_counter()
    done = subprocess.run(
        [sys.executable, __file__, "--child", str(record_path), "--", *argv],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - wall
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"training failed in {tree}: {done.stderr[-2000:]}")
    timing = json.loads(record_path.read_text())
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall": round(wall, 3), "cpu": round(cpu, 3), "load": load, **timing}


def _phases(run: dict[str, Any]) -> dict[str, float]:
    """Wall and CPU seconds of each phase, from the child's own clocks."""
    marks, clocks = run["marks"], run["clocks"]
    epochs = run["info"]["epochs_run"]
    out = {"epochs": epochs, "wall": run["wall"], "cpu": run["cpu"]}
    for index, unit in ((0, "wall"), (1, "cpu")):
        out[f"startup_{unit}"] = marks["train_called"][index]
        out[f"prep_{unit}"] = marks["first_epoch"][index] - marks["train_called"][index]
        out[f"save_{unit}"] = run["end"][index] - marks["train_returned"][index]
        out[f"steps_{unit}"] = clocks["step"][index]
        out[f"batches_{unit}"] = clocks["batches"][index]
        out[f"validate_{unit}"] = clocks["validate"][index]
        out[f"epoch_{unit}"] = (
            clocks["step"][index] + clocks["validate"][index] + clocks["batches"][index]
        ) / epochs
    out["self_cpu"] = run["end"][1]  # the training process alone, without the curve painter
    out["step_ms_cpu"] = 1000 * clocks["step"][1] / clocks["step"][2]
    out["steps"] = clocks["step"][2]
    return out


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        _child(Path(sys.argv[2]), sys.argv[4:])
        return
    if len(sys.argv) > 2 and sys.argv[1] == "--table":
        _table(json.loads(Path(sys.argv[2]).read_text()))
        return
    parser = argparse.ArgumentParser()
    parser.add_argument("--trees", default="branch=.")
    parser.add_argument("--data", default="knobs,pads,fader,lightpad-12k")
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--scale", type=float, default=0.25)
    parser.add_argument("--threads", default="1")
    parser.add_argument("--out", type=Path, default=Path("train-cost.json"))
    parser.add_argument("--extra", default="", help="more options for foretell train")
    parser.add_argument("--models", default="dense,default")
    parser.add_argument("--steps", type=int, default=0, help="only time N steps each, in turn")
    args = parser.parse_args()
    if args.steps:
        _steps(args.data.split(","), int(args.seeds.split(",")[0]), args.scale, args.steps)
        return
    trees = [(n, Path(p)) for n, p in (t.split("=") for t in args.trees.split(","))]
    extra = ["--threads", args.threads] if args.threads else []
    extra += args.extra.split()
    from foretell.bench.train import test_score
    from foretell.data.dataset import save_dataset
    from foretell.train.batches import split_test

    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="train-cost-") as tmp:
        for seed in (int(s) for s in args.seeds.split(",")):
            for name in args.data.split(","):
                split = split_test(_dataset(name, seed, args.scale))
                data = Path(tmp) / f"{name}-{seed}.npz"
                save_dataset(data, list(split.trainable.performances))
                for tree_name, tree in trees:
                    for model in args.models.split(","):
                        out = Path(tmp) / f"{name}-{seed}-{tree_name}-{model}.ftm"
                        run = _run_one(tree, data, out, seed, model == "dense", extra)
                        row = {
                            "data": name,
                            "seed": seed,
                            "tree": tree_name,
                            "model": model,
                            **_phases(run),
                            "threads": run["info"]["threads"],
                            "load": round(run["load"], 2),
                            "best_val_nll": run["info"]["best_val_nll"],
                            "test_nll": test_score(out, split)["test_nll"],
                        }
                        results.append(row)
                        print(
                            json.dumps(
                                {
                                    k: (round(v, 3) if isinstance(v, float) else v)
                                    for k, v in row.items()
                                }
                            ),
                            flush=True,
                        )
    args.out.write_text(json.dumps(results, indent=1))
    if args.models == "dense,default":
        _table(results)


COLUMNS = (
    "data", "tree", "model", "epochs", "s/epoch CPU", "step ms CPU", "fixed CPU s",
    "process CPU s", "CPU s", "wall s", "process CPU ratio", "CPU ratio", "wall ratio", "load",
    "test NLL",
)  # fmt: skip
PHASES = ("startup", "prep", "steps", "batches", "validate", "save")


def _median(rows: list[dict[str, Any]], key: str) -> float:
    return statistics.median(r[key] for r in rows)


def _ratio(rows: list[dict[str, Any]], dense: list[dict[str, Any]], key: str) -> float:
    """The median over seeds of each run's figure over dense's in the same seed."""
    return statistics.median(a[key] / b[key] for a, b in zip(rows, dense, strict=True))


def _table(results: list[dict[str, Any]]) -> None:
    """Medians over seeds: per data set and tree, dense and default side by side. Fixed CPU:
    start-up, data preparation and saving; process CPU: the training process alone; CPU: with
    its children (the loss-curve painter)."""
    for row in results:
        row.setdefault("self_cpu", sum(row[f"{p}_cpu"] for p in PHASES))
    keys = sorted({(r["data"], r["tree"]) for r in results})
    print("| " + " | ".join(COLUMNS) + " |")
    print("|" + "---|" * len(COLUMNS))
    for data, tree in keys:
        runs = {
            m: [r for r in results if (r["data"], r["tree"], r["model"]) == (data, tree, m)]
            for m in ("dense", "default")
        }
        for model, rows in runs.items():
            fixed = sum(_median(rows, f"{p}_cpu") for p in ("startup", "prep", "save"))
            cells = (
                data, tree, model, f"{_median(rows, 'epochs'):g}",
                f"{_median(rows, 'epoch_cpu'):.3f}", f"{_median(rows, 'step_ms_cpu'):.2f}",
                f"{fixed:.2f}", f"{_median(rows, 'self_cpu'):.2f}", f"{_median(rows, 'cpu'):.1f}",
                f"{_median(rows, 'wall'):.1f}", f"{_ratio(rows, runs['dense'], 'self_cpu'):.2f}",
                f"{_ratio(rows, runs['dense'], 'cpu'):.2f}",
                f"{_ratio(rows, runs['dense'], 'wall'):.2f}",
                f"{min(r['load'] for r in rows):.1f}-{max(r['load'] for r in rows):.1f}",
                f"{_median(rows, 'test_nll'):.3f}",
            )  # fmt: skip
            print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
