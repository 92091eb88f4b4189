"""``alc-data train``: train a segmentation model on a label version."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from alc_data.models import MODELS
from alc_data.stages.common import choices
from alc_data.train.config import DEFAULT_ITERATIONS, Optimizer, TrainConfig
from alc_data_cli.options import DEFAULT_WORKSPACE, JsonOpt, VersionOpt, WorkspaceOpt, open_workspace, print_json


#: the defaults the help texts show, from the one place they are written
DEFAULTS = TrainConfig()


def train(
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
    model: Annotated[Optional[str], typer.Option("--model", "-m", help=f"Registered model (see `alc-data models`): {', '.join(MODELS.names())}; default {DEFAULTS.model}.")] = None,
    epochs: Annotated[Optional[float], typer.Option("--epochs", help="Passes over the split (or use --iterations).")] = None,
    iterations: Annotated[Optional[int], typer.Option("--iterations", help=f"Batches to train on (default {DEFAULT_ITERATIONS} when neither is given).")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of weights, data order and augmentation.")] = 0,
    version: VersionOpt = None,
    split: Annotated[str, typer.Option("--split", help="Split whose images train the model.")] = "train",
    batch_size: Annotated[Optional[int], typer.Option("--batch-size", help=f"Crops per batch (default {DEFAULTS.batch_size}).")] = None,
    lr: Annotated[Optional[float], typer.Option("--lr", help=f"Learning rate of the decoder (default {DEFAULTS.lr}; the encoder gets lr × --backbone-lr-mult).")] = None,
    backbone_lr_mult: Annotated[Optional[float], typer.Option("--backbone-lr-mult", help=f"Encoder lr = lr × this (default {DEFAULTS.backbone_lr_mult}, the paper's, for pretrained encoders; 1.0 suits random ones).")] = None,
    optimizer: Annotated[Optional[str], typer.Option("--optimizer", help=f"{choices(Optimizer)} (default {DEFAULTS.optimizer}).")] = None,
    crop_size: Annotated[Optional[int], typer.Option("--crop-size", help=f"Square training crop in pixels (default {DEFAULTS.crop_size}).")] = None,
    encoder_weights: Annotated[Optional[str], typer.Option("--encoder-weights", help="smp models: imagenet (or another name smp knows for the encoder; downloaded into the Hugging Face cache when online, read from it offline) or a local encoder checkpoint. Default: random.")] = None,
    pretrained: Annotated[Optional[str], typer.Option("--pretrained", help="SegFormer models: a hub id (nvidia/mit-b0) or local folder of a whole model; the head is re-initialised for other classes.")] = None,
    init_checkpoint: Annotated[Optional[Path], typer.Option("--init", help="Warm start: model weights from an earlier alc-data checkpoint.")] = None,
    run_dir: Annotated[Optional[Path], typer.Option("--run-dir", help="Where checkpoints go (default WORKSPACE/runs/train-<timestamp>).")] = None,
    resume: Annotated[bool, typer.Option("--resume/--no-resume", help="Continue an interrupted training in --run-dir from its last.pt.")] = True,
    device: Annotated[str, typer.Option("--device", help="auto (CUDA when present), cpu, cuda or cuda:N.")] = "auto",
    num_workers: Annotated[int, typer.Option("--num-workers", help="Data-loading processes (0 = in the training process).")] = 0,
    checkpoint_every: Annotated[int, typer.Option("--checkpoint-every", help="Save last.pt every N iterations (0 = only at the end).")] = 1000,
    as_json: JsonOpt = False,
) -> None:
    """Train a model on a label version (the latest unless --version); prints the checkpoint path."""
    import dataclasses

    from alc_data.stages.train import TrainOptions
    from alc_data.stages.train import train as run_stage

    ws = open_workspace(workspace)
    values = {
        "model": model, "epochs": epochs, "iterations": iterations, "batch_size": batch_size, "lr": lr,
        "crop_size": crop_size, "encoder_weights": encoder_weights, "backbone_lr_mult": backbone_lr_mult,
        "optimizer": optimizer, "pretrained": pretrained,
    }
    cfg = TrainConfig.from_dict(
        {k: v for k, v in values.items() if v is not None},
        seed=seed, device=device, num_workers=num_workers, checkpoint_every=checkpoint_every,
    )
    options = TrainOptions(cfg, version=version, split=split, run_dir=run_dir, resume=resume,
                           init_checkpoint=init_checkpoint)
    options = dataclasses.replace(options, run_dir=options.run_folder(ws))
    typer.echo(f"checkpoints go to {options.run_dir} (an interrupted training resumes with --run-dir {options.run_dir})", err=True)
    result = run_stage(ws, options)
    if as_json:
        print_json(result.to_dict())
        return
    typer.echo(
        f"trained {result.model} for {result.iterations} iterations on {ws.labels.version(version).name} "
        f"({split}); final loss {result.final_loss:.4f}; {result.seconds:.1f} s",
        err=True,
    )
    typer.echo(str(result.checkpoint))


def models(
    names: Annotated[Optional[list[str]], typer.Argument(help="Models to show (default: all).")] = None,
    benchmark: Annotated[bool, typer.Option("--benchmark", help="Measure seconds per training iteration on this machine (random data).")] = False,
    crop_size: Annotated[int, typer.Option("--crop-size", help="Crop of the --benchmark iterations.")] = 256,
    batch_size: Annotated[int, typer.Option("--batch-size", help="Batch of the --benchmark iterations.")] = 2,
    iterations: Annotated[int, typer.Option("--iterations", help="Timed iterations per model (after one warm-up).")] = 3,
    device: Annotated[str, typer.Option("--device", help="Where --benchmark runs: auto, cpu, cuda.")] = "auto",
    as_json: JsonOpt = False,
) -> None:
    """List the registered models with their parameter counts (21 classes); --benchmark times them here."""
    from alc_data.models import count_parameters
    from alc_data.train.benchmark import benchmark_training

    rows = []
    for n in names or MODELS.names():
        spec = MODELS.get(n)
        row = {"name": n, "architecture": spec.architecture, "encoder": spec.encoder,
               "parameters": count_parameters(n), "description": spec.description}
        if benchmark:
            typer.echo(f"benchmarking {n} ...", err=True)
            row["seconds_per_iteration"] = benchmark_training(
                n, crop_size=crop_size, batch_size=batch_size, iterations=iterations, device=device
            )["seconds_per_iteration"]
        rows.append(row)
    if as_json:
        print_json(rows)
        return
    from rich.table import Table
    from rich.text import Text

    from alc_data_cli.options import console

    title = "models" + (f" (s/iteration at crop {crop_size}, batch {batch_size}, measured here)" if benchmark else "")
    t = Table(title=title, show_lines=True)
    # the description under the name and the encoder under the architecture: 80 columns are enough
    cols = ["name, description", "architecture, encoder", "parameters"] + (["s/iter"] if benchmark else [])
    for c in cols:
        t.add_column(c, justify="right" if c in ("parameters", "s/iter") else "left", no_wrap=c != cols[0])
    for r in rows:
        extra = [f"{r['seconds_per_iteration']:.3f}"] if benchmark else []
        t.add_row(Text.assemble((r["name"], "bold"), "\n", r["description"]), f"{r['architecture']}\n{r['encoder']}",
                  f"{r['parameters'] / 1e6:.1f} M", *extra)
    console().print(t)


def register(app: typer.Typer) -> None:
    app.command("train")(train)
    app.command("models")(models)
