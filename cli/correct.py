"""``alc-data correct``: record answers (CSV or ground-truth oracle) and write the next label version."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from alc_data.answers.oracle import OracleMode
from alc_data.correction.expand import DEFAULT_EXPANSION, Expansion
from alc_data.correction.lcm import RegionFeatures
from alc_data.correction.propagate import AUTO, DEFAULT_THRESHOLD
from alc_data_cli.options import DEFAULT_WORKSPACE, JsonOpt, WorkspaceOpt, open_workspace, print_json


def correct(
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
    answers: Annotated[Optional[Path], typer.Option("--answers", help="CSV of answers (from `alc-data queries export`), or a Label Studio JSON export.")] = None,
    oracle: Annotated[Optional[str], typer.Option("--oracle", help="Answer from reference data: 'gt' (simulation).")] = None,
    oracle_mode: Annotated[str, typer.Option("--oracle-mode", help=f"{OracleMode.PIXEL} (the paper's query) or {OracleMode.REGION_MAJORITY}.")] = OracleMode.PIXEL.value,
    round_no: Annotated[Optional[int], typer.Option("--round", "-r", help="Round to answer (default: the latest).")] = None,
    tau: Annotated[float, typer.Option("--tau", help="Spread only to pixels with cos(f(x), f(rep)) ≥ tau (0 = no threshold).")] = 0.0,
    expand: Annotated[str, typer.Option(
        "--expand", help=f"Pixels that take an answer: {Expansion.LABEL} (only the region's pixels that carry the rejected "
        f"label), {Expansion.SUPERPIXEL} (the paper's: the whole region) or {Expansion.PIXEL} (only the asked pixel).")
    ] = DEFAULT_EXPANSION.value,
    model: Annotated[Optional[Path], typer.Option("--model", "-m", help="Checkpoint for --tau > 0 and --propagate (default: the round's model).")] = None,
    annotator: Annotated[Optional[str], typer.Option("--annotator", help="Who answered (default: the user name).")] = None,
    propagate: Annotated[bool, typer.Option(
        "--propagate", help="After the answers, relabel never-asked regions the label-correction module (A2LC's LCM, "
        "trained on this round's answers) is sure of; each relabel is a ledger row of source 'propagated'.")] = False,
    propagate_threshold: Annotated[Optional[str], typer.Option(
        "--propagate-threshold", help=f"The module's confidence threshold: a number in (0, 1] (A2LC: {DEFAULT_THRESHOLD}) "
        f"or '{AUTO}' (chosen from held-out folds of this round's answers: the lowest whose relabels are ≥ 90 % right); "
        f"default {DEFAULT_THRESHOLD}.")] = None,
    propagate_agreement: Annotated[Optional[float], typer.Option(
        "--propagate-agreement", help="Beyond A2LC: relabel only where the round's model agrees, i.e. the proposed class is "
        "its most probable over the region with at least this mean probability (0 = off, A2LC's rules alone; 0.5 keeps "
        "the demo's relabels ≥ 90 % right); default 0.")] = None,
    propagate_features: Annotated[Optional[str], typer.Option(
        "--propagate-features", help=f"What the module reads of a region: {RegionFeatures.MEAN} (A2LC's mean softmax), "
        f"{RegionFeatures.MEAN_SHARE} (and the share of its pixels predicted as each class) or {RegionFeatures.MEAN_STD} "
        f"(and each class's standard deviation); default {RegionFeatures.MEAN}.")] = None,
    predictions: Annotated[Optional[Path], typer.Option("--predictions", help="With --propagate: the round's prediction folder (default: the round's own).")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the label-correction module's training.")] = 0,
    discard_invalid: Annotated[bool, typer.Option("--discard-invalid", help="Retract the round's recorded answers that name no class of the workspace (kept in the ledger as retracted; `check` lists them).")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Validate and record the answers in the ledger, then spread them over their superpixels as a new version.

    With neither --answers nor --oracle, applies the answers already in the ledger (from `alc-data annotate`,
    or left unapplied by an interrupted run). A `.json` answers file is read as a Label Studio export."""
    from alc_data.names import current_user
    from alc_data.stages.correct import CorrectOptions, correct

    options = CorrectOptions(
        round=round_no, answers_file=answers, oracle=oracle, oracle_mode=oracle_mode, tau=tau, expand=expand,
        checkpoint=model, annotator=annotator or ("oracle" if oracle else current_user()), propagate=propagate,
        propagate_threshold=propagate_threshold, propagate_agreement=propagate_agreement,
        propagate_features=propagate_features, predictions=predictions, seed=seed,
        discard_invalid=discard_invalid,
    )
    result = correct(open_workspace(workspace), options)
    if as_json:
        print_json(result.to_dict())
        return
    applied = result.applied
    if result.discarded:
        shown = ", ".join(map(str, result.discarded[:10])) + (" …" if len(result.discarded) > 10 else "")
        typer.echo(f"round {result.round}: discarded {len(result.discarded)} answers that name no class (queries {shown})")
    if result.source == "ledger":
        typer.echo(f"round {result.round}: applying the answers already in the ledger")
    else:
        typer.echo(f"round {result.round}: {result.recorded} answers recorded ({result.already_recorded} already in the ledger)")
    if applied is None:
        typer.echo("nothing new to apply; the labels are unchanged")
    else:
        typer.echo(
            f"labels {applied.version} (parent {applied.parent}): {applied.corrected} corrected, "
            f"{applied.accepted} accepted, {applied.unanswerable} unanswerable; "
            f"{applied.changed_pixels} pixels changed in {applied.changed_images} images"
        )
    if result.propagated_before is not None:
        typer.echo(f"round {result.round} was propagated already (labels {result.propagated_before}); nothing more to propagate")
    prop = result.propagated
    if prop is not None:
        typer.echo(
            f"propagated: {prop.relabelled} of {prop.candidates} never-asked regions relabelled "
            f"(module trained on {prop.trained_on} answered regions, {prop.threshold_text()})"
            + (f" into labels {prop.version}: {prop.changed_pixels} pixels in {prop.changed_images} images" if prop.version else "")
        )


def register(app: typer.Typer) -> None:
    app.command("correct")(correct)
