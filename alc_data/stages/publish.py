"""The publish stage: a label version as a Hugging Face dataset folder, optionally uploaded to the hub."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from alc_data.publish import PublishResult, check_publish_values, publish_checked

if TYPE_CHECKING:
    from alc_data.workspace import Workspace


@dataclass(frozen=True)
class PublishOptions:
    """``to_dir``: build the folder there (missing or empty); ``repo_id``: also upload to this hub
    dataset repo (``private``, ``tag``, ``revision``, ``token`` apply to it); at least one of the two.
    ``license``/``pretty_name`` go on the card; ``splits``: default every split except unions."""

    version: str | None = None
    to_dir: Path | None = None
    repo_id: str | None = None
    private: bool = False
    tag: str | None = None
    revision: str | None = None
    token: str | None = field(default=None, repr=False)  # stays out of logs and tracebacks
    license: str = "other"
    pretty_name: str | None = None
    splits: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        check_publish_values(to_dir=self.to_dir, repo_id=self.repo_id, tag=self.tag, revision=self.revision)


def publish(ws: Workspace, options: PublishOptions, *, echo: Callable[[str], None] | None = None) -> PublishResult:
    """Build (and upload) as ``options`` say; ``echo`` receives one line per step."""
    return publish_checked(
        ws, version=options.version, to_dir=options.to_dir, repo_id=options.repo_id, private=options.private,
        tag=options.tag, revision=options.revision, token=options.token, license=options.license,
        pretty_name=options.pretty_name, splits=None if options.splits is None else list(options.splits), echo=echo,
    )
