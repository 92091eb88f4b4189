"""``alc-data publish``: build a Hugging Face dataset folder from a label version, optionally upload it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from alc_data_cli.options import DEFAULT_WORKSPACE, JsonOpt, VersionOpt, WorkspaceOpt, open_workspace, print_json


def publish(
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
    version: VersionOpt = None,
    to_dir: Annotated[
        Optional[Path], typer.Option("--to-dir", help="Build the dataset folder here (missing or empty folder).")
    ] = None,
    repo_id: Annotated[
        Optional[str], typer.Option("--repo-id", help="Also upload to this hub dataset repo, ORG/NAME (created if missing).")
    ] = None,
    private: Annotated[bool, typer.Option("--private", help="Create the hub repo as private.")] = False,
    tag: Annotated[Optional[str], typer.Option("--tag", help="Tag the uploaded commit (e.g. v1.0).")] = None,
    revision: Annotated[Optional[str], typer.Option("--revision", help="Hub branch to upload to (created if missing).")] = None,
    token: Annotated[
        Optional[str], typer.Option("--token", help="Hub token with write access (default: env HF_TOKEN, then the stored login).", show_default=False)
    ] = None,
    license: Annotated[str, typer.Option("--license", help="Licence id for the card (e.g. cc-by-4.0); the source dataset's terms still apply to its images.")] = "other",
    pretty_name: Annotated[Optional[str], typer.Option("--pretty-name", help="Dataset name shown on the hub.")] = None,
    split: Annotated[
        Optional[list[str]], typer.Option("--split", help="Split to publish (repeatable; default: every split except unions like trainval).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Write parquet shards (images + corrected and original labels), the corrections ledger and a dataset card."""
    from alc_data.stages.publish import PublishOptions
    from alc_data.stages.publish import publish as run_stage

    ws = open_workspace(workspace)
    options = PublishOptions(
        version=version, to_dir=to_dir, repo_id=repo_id, private=private, tag=tag, revision=revision, token=token,
        license=license, pretty_name=pretty_name, splits=tuple(split) if split else None,
    )
    result = run_stage(ws, options, echo=None if as_json else typer.echo)
    if as_json:
        print_json(result.to_dict())


def register(app: typer.Typer) -> None:
    app.command("publish")(publish)
