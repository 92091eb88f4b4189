"""``alc-data pseudo-label``: Grounded-SAM pseudo labels (GroundingDINO boxes → SAM masks)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from alc_data.engine import as_engine
from alc_data.stages.pseudo_label import Background, PseudoLabelOptions
from alc_data_cli.options import (
    DEFAULT_WORKSPACE,
    EngineOpt,
    JsonOpt,
    RayAddressOpt,
    WorkspaceOpt,
    open_workspace,
    print_json,
)


def pseudo_label(
    detector: Annotated[str, typer.Option("--detector", help="GroundingDINO: a Hugging Face-format folder or a hub id (IDEA-Research/grounding-dino-base; downloaded into the Hugging Face cache when online, read from it offline).")],
    sam: Annotated[str, typer.Option("--sam", help="SAM: sam_vit_{h,l,b}_*.pth (segment-anything), a Hugging Face SAM folder, or a hub id (facebook/sam-vit-huge, through the Hugging Face cache).")],
    workspace: WorkspaceOpt = DEFAULT_WORKSPACE,
    version: Annotated[Optional[str], typer.Option("--version", help="Label version to write (default: v0 when free, else 'pseudo').")] = None,
    box_threshold: Annotated[float, typer.Option("--box-threshold", help="Minimum box score (max sigmoid over the class's tokens).")] = 0.2,
    text_threshold: Annotated[Optional[float], typer.Option("--text-threshold", help="Extra minimum for the winning class's token score (default: none).")] = None,
    nms_iou: Annotated[float, typer.Option("--nms-iou", help="IoU above which per-class NMS drops the weaker box.")] = 0.5,
    prompt: Annotated[Optional[list[str]], typer.Option("--prompt", help="CLASS=PHRASE prompt override (repeatable; empty phrase skips the class).")] = None,
    background: Annotated[Background, typer.Option("--background", case_sensitive=False, help="Label of pixels no mask covers (auto: background when the dataset has such a class, else void = 255).")] = Background.AUTO,
    batch_size: Annotated[int, typer.Option("--batch-size", help="Images per detector forward pass.")] = 4,
    device: Annotated[str, typer.Option("--device", help="auto, cpu or cuda.")] = "auto",
    amp: Annotated[bool, typer.Option("--amp/--no-amp", help="Mixed precision (bfloat16) on CUDA.")] = True,
    sam_type: Annotated[Optional[str], typer.Option("--sam-type", help="Check the .pth is vit_h, vit_l or vit_b (read from the file otherwise).")] = None,
    instances_set: Annotated[str, typer.Option("--instances-set", help="Superpixel set to store the instance maps in.")] = "gsam",
    engine: EngineOpt = "local",
    ray_address: RayAddressOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Label every image with Grounded-SAM; resumes an interrupted run (same settings) where it stopped."""
    from alc_data.foundation.detector import parse_prompt_overrides
    from alc_data.stages.pseudo_label import pseudo_label as run_stage

    options = PseudoLabelOptions(
        detector, sam, version=version, box_threshold=box_threshold, text_threshold=text_threshold, nms_iou=nms_iou,
        prompts=parse_prompt_overrides(prompt), background=background, batch_size=batch_size, device=device, amp=amp,
        sam_type=sam_type, instances_set=instances_set, engine=as_engine(engine), ray_address=ray_address,
    )
    result = run_stage(open_workspace(workspace), options)
    if as_json:
        print_json(result.to_dict())
        return
    resumed = f", {result.resumed} resumed" if result.resumed else ""
    typer.echo(
        f"pseudo labels {result.version}: {result.images} images ({result.computed} computed{resumed}), "
        f"{result.boxes} boxes, masks cover {100 * result.mask_coverage:.1f} % of pixels "
        f"(rest: {result.background}); instance maps in superpixel set {result.instances_set}"
    )


def register(app: typer.Typer) -> None:
    app.command("pseudo-label")(pseudo_label)
