"""``alc-data score``: score superpixels with a trained model and select a round of queries."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from alc_data_cli.options import DEFAULT_WORKSPACE, EngineOpt, JsonOpt, RayAddressOpt, VersionOpt, WorkspaceOpt, open_workspace, print_json


def score(
    budget: Annotated[int, typer.Option("--budget", "-b", help="Number of superpixels to query this round.")],
    model: Annotated[Optional[Path], typer.Option("--model", "-m", help="Model checkpoint (from `alc-data train`).")] = None,
    predictions: Annotated[Optional[Path], typer.Option("--predictions", help="Instead of --model: a folder of <image_id>.npy/.npz (K, H, W) float16/float32 probabilities from any model.")] = None,
    logits: Annotated[bool, typer.Option("--logits", help="The --predictions files hold logits (softmax is applied).")] = False,
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
    acquisition: Annotated[str, typer.Option("--acquisition", "-a", help="sim, lcil, cil, random, entropy, margin, softmin.")] = "sim",
    superpixels: Annotated[Optional[str], typer.Option("--superpixels", "-s", help="Superpixel set (default: the latest).")] = None,
    version: VersionOpt = None,
    split: Annotated[str, typer.Option("--split", help="Split whose labels are corrected.")] = "train",
    skip_asked: Annotated[bool, typer.Option("--skip-asked/--no-skip-asked", help="Skip superpixels asked in earlier rounds.")] = True,
    batch_size: Annotated[int, typer.Option("--batch-size", help="Images per forward pass.")] = 4,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the random acquisition and the random representative.")] = 0,
    representative: Annotated[str, typer.Option(
        "--representative", help="Representative pixel per superpixel: pool (the diversified pixel pool) or random "
        "(any pixel of the superpixel, seeded).")] = "pool",
    engine: EngineOpt = "local",
    ray_address: RayAddressOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Stream probabilities (from --model or --predictions) into the scorer, write the round's score
    table, select the top-B queries."""
    from alc_data.score_round import score_checkpoint_or_predictions

    result = score_checkpoint_or_predictions(
        open_workspace(workspace), checkpoint=model, predictions=predictions, logits=logits, batch_size=batch_size,
        budget=budget, acquisition=acquisition, superpixel_set=superpixels, label_version=version, split=split,
        skip_asked=skip_asked, seed=seed, representative=representative,
        engine=engine, ray_address=ray_address,
    )
    if as_json:
        print_json(result.to_dict())
    else:
        typer.echo(
            f"round {result.round}: {result.selected} queries of {result.candidates} candidate superpixels "
            f"({result.acquisition} on labels {result.label_version}); scores in {result.score_table}"
        )


def register(app: typer.Typer) -> None:
    app.command("score")(score)
