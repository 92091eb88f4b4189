"""Publish a label version as a Hugging Face dataset: build the folder, write the card, upload it."""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from alc_data.errors import AlcError, InvalidInput
from alc_data.publish.build import build_dataset_folder, check_target_dir, plan_splits
from alc_data.publish.card import ALC_BIBTEX, source_citation
from alc_data.publish.result import BUILD_JSON_KEYS, BuildResult
from alc_data.publish.upload import DELETE_PATTERNS, UploadResult, check_repo_id, check_tag, scrub, upload_dataset
from alc_data.results import JsonResult

if TYPE_CHECKING:
    from alc_data.workspace import Workspace


@dataclass(frozen=True)
class PublishResult(JsonResult):
    """The built folder's numbers (``folder`` None when only a temporary build was uploaded) and the
    upload's commit; the JSON is the build's keys followed by ``upload``."""

    build: BuildResult
    upload: UploadResult | None
    kept: bool  # whether the built folder is still on disk

    @property
    def kept_folder(self) -> Path | None:
        """The built folder, or None when it was a temporary one (removed after the upload)."""
        return self.build.folder if self.kept else None

    def json_keys(self) -> tuple[str, ...]:
        build = (k.partition("=") for k in BUILD_JSON_KEYS)
        return ("folder=kept_folder", *(f"{key}=build.{attr or key}" for key, _, attr in build if key != "folder"), "upload")


def publish(
    ws: Workspace,
    *,
    version: str | None = None,
    to_dir: str | os.PathLike | None = None,
    repo_id: str | None = None,
    private: bool = False,
    tag: str | None = None,
    revision: str | None = None,
    token: str | None = None,
    license: str = "other",
    pretty_name: str | None = None,
    splits: list[str] | None = None,
    api: Any = None,
    echo: Callable[[str], None] | None = None,
) -> PublishResult:
    """Build the dataset folder of ``version`` into ``to_dir`` and/or upload it to ``repo_id``.

    Every input is checked before anything is written. With ``repo_id`` and no ``to_dir`` the folder is
    built in a temporary folder, removed after a successful upload and kept (its path in the error) after
    a failed one. ``token`` (else ``HF_TOKEN``) goes to the hub client only. ``api``: see
    :func:`~alc_data.publish.upload.upload_dataset`.
    """
    check_publish_values(to_dir=to_dir, repo_id=repo_id, tag=tag, revision=revision)
    return publish_checked(ws, version=version, to_dir=to_dir, repo_id=repo_id, private=private, tag=tag,
                           revision=revision, token=token, license=license, pretty_name=pretty_name, splits=splits,
                           api=api, echo=echo)


def check_publish_values(
    *, to_dir: str | os.PathLike | None, repo_id: str | None, tag: str | None, revision: str | None
) -> None:
    """AlcError when there is nothing to do, a hub option lacks ``repo_id``, a name is malformed or
    ``to_dir`` is not a missing or empty folder."""
    if to_dir is None and repo_id is None:
        raise InvalidInput("nothing to do: pass --to-dir DIR to build the dataset folder and/or --repo-id ORG/NAME to upload it")
    if repo_id is not None:
        check_repo_id(repo_id)
    if tag is not None:
        if repo_id is None:
            raise InvalidInput("--tag needs --repo-id (tags are made on the hub)")
        check_tag(tag)
    if revision is not None and repo_id is None:
        raise InvalidInput("--revision needs --repo-id (it names the hub branch to upload to)")
    if to_dir is not None:
        check_target_dir(to_dir)


def publish_checked(
    ws: Workspace,
    *,
    version: str | None,
    to_dir: str | os.PathLike | None,
    repo_id: str | None,
    private: bool,
    tag: str | None,
    revision: str | None,
    token: str | None,
    license: str,
    pretty_name: str | None,
    splits: list[str] | None,
    api: Any = None,
    echo: Callable[[str], None] | None = None,
) -> PublishResult:
    """:func:`publish` with values already checked by :func:`check_publish_values`."""
    v = ws.labels.version(version)  # AlcError for an unknown version, before anything is written
    plan_splits(ws, splits)
    say = echo or (lambda _msg: None)

    temp_root: Path | None = None
    if to_dir is None:
        temp_root = Path(tempfile.mkdtemp(prefix="alc-publish-"))
        folder = temp_root / "dataset"
    else:
        folder = Path(to_dir)
    try:
        result = build_dataset_folder(
            ws, folder, version=v.name, splits=splits, license=license, pretty_name=pretty_name, repo_id=repo_id
        )
    except BaseException:
        if temp_root is not None:
            shutil.rmtree(temp_root, ignore_errors=True)
        raise
    say(f"built {result.images} images of {v.name} ({', '.join(f'{s} {n}' for s, n in result.splits.items())}; "
        f"{result.corrections} ledger rows) in {result.folder}")
    if result.left_out:
        say(f"note: {result.left_out} images in no published split were left out (choose splits with --split)")
    if repo_id is None:
        return PublishResult(build=result, upload=None, kept=True)
    try:
        up = upload_dataset(
            result.folder, repo_id, token=token, private=private, tag=tag, revision=revision,
            commit_message=f"Publish label version {v.name} with alc-data", api=api,
        )
    except AlcError as exc:
        raise type(exc)(f"{scrub(str(exc), token)}; the built dataset folder is kept at {result.folder}") from None
    if temp_root is not None:
        shutil.rmtree(temp_root, ignore_errors=True)
    say(f"uploaded to {repo_id}: {up.commit_url}" + (f" (tag {tag})" if tag else ""))
    return PublishResult(build=result, upload=up, kept=temp_root is None)


__all__ = [
    "ALC_BIBTEX",
    "BuildResult",
    "DELETE_PATTERNS",
    "PublishResult",
    "UploadResult",
    "build_dataset_folder",
    "check_publish_values",
    "check_repo_id",
    "plan_splits",
    "publish",
    "publish_checked",
    "scrub",
    "source_citation",
    "upload_dataset",
]
