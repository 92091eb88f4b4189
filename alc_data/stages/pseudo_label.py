"""The pseudo-label stage: Grounded-SAM pseudo labels (GroundingDINO boxes → SAM masks) for a workspace."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Mapping

from alc_data.engine import Engine, as_engine, check_ray_options
from alc_data.errors import InvalidInput
from alc_data.pseudo_label import PseudoLabelResult, check_pseudo_label_values, make_pseudo_labels
from alc_data.stages.common import choice, set_field
from alc_data.workspace import check_name

if TYPE_CHECKING:
    from alc_data.workspace import Workspace


class Background(str, Enum):
    """The label of pixels no mask covers: ``background`` (the class named so), ``void`` (255), or
    ``auto`` (background when the dataset has such a class, else void)."""

    AUTO = "auto"
    BACKGROUND = "background"
    VOID = "void"


@dataclass(frozen=True)
class PseudoLabelOptions:
    """``detector``/``sam``: checkpoints (a local path or a hub id); ``version``: the label version to
    write (default: v0 when free, else ``pseudo``); ``prompts``: class name → phrase overrides; the
    rest as :func:`alc_data.pseudo_label.run_pseudo_label` documents them."""

    detector: str
    sam: str
    version: str | None = None
    box_threshold: float = 0.2
    text_threshold: float | None = None
    nms_iou: float = 0.5
    prompts: Mapping[str, str] = field(default_factory=dict)
    background: Background = Background.AUTO
    batch_size: int = 4
    device: str = "auto"
    amp: bool = True
    sam_type: str | None = None
    instances_set: str = "gsam"
    engine: Engine = Engine.LOCAL
    ray_address: str | None = None
    concurrency: int | None = None

    def __post_init__(self) -> None:
        check_pseudo_label_values(self.box_threshold, self.text_threshold, self.nms_iou, self.batch_size)
        if not isinstance(self.background, Background):  # a recipe's text
            set_field(self, "background", choice(Background, str(self.background).lower(), "--background"))
        if not isinstance(self.engine, Engine):
            set_field(self, "engine", as_engine(self.engine))
        check_ray_options(self.engine, self.ray_address)
        if self.version is not None:
            check_name("label version", self.version)
        check_name("superpixel set", self.instances_set)
        if self.concurrency is not None and self.concurrency < 1:
            raise InvalidInput(f"concurrency {self.concurrency}: it must be at least 1 actor")


def pseudo_label(ws: Workspace, options: PseudoLabelOptions) -> PseudoLabelResult:
    """Label every image of ``ws`` with Grounded-SAM as ``options`` say; resumes an interrupted run."""
    return make_pseudo_labels(
        ws, detector=options.detector, sam=options.sam, version=options.version,
        box_threshold=options.box_threshold, text_threshold=options.text_threshold, nms_iou=options.nms_iou,
        prompts=dict(options.prompts), background=options.background.value, batch_size=options.batch_size,
        device=options.device, amp=options.amp, sam_type=options.sam_type, instances_set=options.instances_set,
        engine=options.engine.value, ray_address=options.ray_address, concurrency=options.concurrency,
    )
