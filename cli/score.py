"""``alc-data score``: score superpixels with a trained model and select a round of queries."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from alc_data.engine import Engine
from alc_data.scoring.acquisitions import ACQUISITIONS
from alc_data.scoring.balance import Balance
from alc_data.scoring.pool import Representative
from alc_data_cli.options import DEFAULT_WORKSPACE, EngineOpt, JsonOpt, RayAddressOpt, VersionOpt, WorkspaceOpt, open_workspace, print_json


def score(
    budget: Annotated[int, typer.Option("--budget", "-b", help="Number of superpixels to query this round.")],
    model: Annotated[Optional[Path], typer.Option("--model", "-m", help="Model checkpoint (from `alc-data train`).")] = None,
    predictions: Annotated[Optional[Path], typer.Option("--predictions", help="Instead of --model: a folder of <image_id>.npy/.npz (K, H, W) float16/float32 probabilities from any model.")] = None,
    logits: Annotated[bool, typer.Option("--logits", help="The --predictions files hold logits (softmax is applied).")] = False,
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
    acquisition: Annotated[str, typer.Option("--acquisition", "-a", help=f"{', '.join(ACQUISITIONS.names())}.")] = "sim",
    superpixels: Annotated[Optional[str], typer.Option("--superpixels", "-s", help="Superpixel set (default: the latest).")] = None,
    version: VersionOpt = None,
    split: Annotated[str, typer.Option("--split", help="Split whose labels are corrected.")] = "train",
    skip_asked: Annotated[bool, typer.Option("--skip-asked/--no-skip-asked", help="Skip superpixels asked in earlier rounds.")] = True,
    batch_size: Annotated[int, typer.Option("--batch-size", help="Images per forward pass.")] = 4,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the random acquisition and the random representative.")] = 0,
    representative: Annotated[str, typer.Option(
        "--representative", help=f"Representative pixel per superpixel: {Representative.POOL} (the diversified pixel "
        f"pool) or {Representative.RANDOM} (any pixel of the superpixel, seeded).")] = Representative.POOL.value,
    balance: Annotated[str, typer.Option(
        "--balance", help=f"Class balance of the acquisition: {' | '.join(Balance.values())} (abc: A2LC's class weight "
        "on each pixel's term of sim, from the current labels; abc-pred: the larger of the weights of the pixel's label "
        "and of its predicted class, so a rare object labelled as background still counts; gain: the data mIoU a fix from "
        "the pixel's label to its predicted class would add, 1/n of each class).")] = Balance.NONE.value,
    engine: EngineOpt = Engine.LOCAL.value,
    ray_address: RayAddressOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Stream probabilities (from --model or --predictions) into the scorer, write the round's score
    table, select the top-B queries."""
    from alc_data.stages.score import ScoreOptions, checkpoint_or_predictions, score

    checkpoint_or_predictions(model, predictions, logits)
    options = ScoreOptions(
        budget=budget, acquisition=acquisition, representative=representative, split=split, skip_asked=skip_asked,
        batch_size=batch_size, seed=seed, checkpoint=model, predictions=predictions, logits=logits,
        superpixel_set=superpixels, label_version=version, engine=engine, ray_address=ray_address, balance=balance,
    )
    result = score(open_workspace(workspace), options)
    if as_json:
        print_json(result.to_dict())
    else:
        typer.echo(
            f"round {result.round}: {result.selected} queries of the {result.left} candidate superpixels left to ask "
            f"({result.candidates} scored; {result.acquisition}"
            f"{'' if result.balance == 'none' else ' with --balance ' + result.balance} on labels "
            f"{result.label_version}); scores in {result.score_table}"
        )


def register(app: typer.Typer) -> None:
    app.command("score")(score)
