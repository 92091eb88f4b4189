"""Upload a built dataset folder to the Hugging Face hub (through an injectable client).

The token is handed to the client and to nothing else: it is never printed, logged or written, and
every error message that leaves this module is scrubbed of it.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alc_data.errors import AlcError, HubError, InvalidInput
from alc_data.results import JsonResult

if TYPE_CHECKING:
    from huggingface_hub import HfApi

_REPO_ID_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9_.\-]*[A-Za-z0-9])?/[A-Za-z0-9](?:[A-Za-z0-9_.\-]*[A-Za-z0-9])?$")
_TAG_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
_TOKEN_RE = re.compile(r"hf_[A-Za-z0-9]{6,}")
_BEARER_RE = re.compile(r"(?i)(bearer\s+)\S+")

#: remote files replaced on every upload, so shards of an earlier, larger build do not linger
DELETE_PATTERNS = ["data/*", "corrections/*"]


def check_repo_id(repo_id: str) -> str:
    """AlcError unless ``repo_id`` is ``org/name`` (letters, digits, ``_ . -``; at most 96 characters)."""
    if not repo_id or len(repo_id) > 96 or not _REPO_ID_RE.match(repo_id) or "--" in repo_id or ".." in repo_id:
        raise InvalidInput(f"repo id {repo_id!r} is not 'org/name' (letters, digits, '_', '.', '-'); pass e.g. --repo-id my-org/pascal-plus")
    return repo_id


def check_tag(tag: str) -> str:
    if not _TAG_RE.match(tag or "") or len(tag) > 128:
        raise InvalidInput(f"tag {tag!r} is not allowed; use letters, digits, '_', '.', '-' (e.g. --tag v1.0)")
    return tag


def scrub(text: str, token: str | None) -> str:
    """``text`` with the token (and anything shaped like a hub token or a bearer header) replaced by ``***``."""
    text = str(text)
    if token:
        text = text.replace(token, "***")
    text = _TOKEN_RE.sub("hf_***", text)
    return _BEARER_RE.sub(r"\1***", text)


def resolve_token(token: str | None) -> str | None:
    """``token``, else ``HF_TOKEN`` from the environment, else None (the client's stored login)."""
    return token or os.environ.get("HF_TOKEN") or None


def default_api(token: str | None) -> HfApi:
    """The real client: ``huggingface_hub.HfApi(token=token)``."""
    from huggingface_hub import HfApi

    return HfApi(token=token)


@dataclass(frozen=True)
class UploadResult(JsonResult):
    """The commit an upload made (``tag``: the tag made on it, if any)."""

    repo_id: str
    commit_url: str
    commit_oid: str | None
    revision: str | None
    tag: str | None


def _one_line(exc: BaseException, token: str | None) -> str:
    """The exception on one line, scrubbed of the token *before* it is cut to 300 characters (cut
    first, a token straddling the cut would leave a prefix that no longer matches)."""
    msg = scrub(" ".join(str(exc).split()), token) or type(exc).__name__
    if len(msg) > 300:
        msg = msg[:300] + " …"
    return f"{type(exc).__name__}: {msg}"


def upload_dataset(
    folder: str | os.PathLike,
    repo_id: str,
    *,
    token: str | None = None,
    private: bool = False,
    tag: str | None = None,
    revision: str | None = None,
    commit_message: str | None = None,
    api: Any = None,
) -> UploadResult:
    """Create the dataset repo if missing, upload ``folder`` (replacing stale shards), tag the commit.

    ``api``: an object with the ``huggingface_hub.HfApi`` methods ``create_repo``, ``create_branch``,
    ``upload_folder`` and ``create_tag`` (default: ``HfApi(token=...)``). Any failure becomes an
    AlcError whose message names the step and never contains the token.
    """
    check_repo_id(repo_id)
    if tag is not None:
        check_tag(tag)
    folder = Path(folder)
    token = resolve_token(token)
    step = "connect to the hub"
    try:
        if api is None:
            api = default_api(token)
        step = f"create dataset repo {repo_id}"
        api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
        if revision:
            step = f"create branch {revision}"
            api.create_branch(repo_id, repo_type="dataset", branch=revision, exist_ok=True)
        step = f"upload {folder} to {repo_id}"
        info = api.upload_folder(
            repo_id=repo_id,
            repo_type="dataset",
            folder_path=str(folder),
            revision=revision,
            commit_message=commit_message or "Upload dataset built with alc-data",
            delete_patterns=list(DELETE_PATTERNS),
        )
        commit_url = str(getattr(info, "commit_url", info))
        oid = getattr(info, "oid", None)
        if tag:
            step = f"tag the commit as {tag}"
            api.create_tag(repo_id, repo_type="dataset", tag=tag, revision=oid or revision, exist_ok=False)
    except AlcError as exc:
        raise type(exc)(scrub(str(exc), token)) from None
    except Exception as exc:  # noqa: BLE001 - every client error (HTTP, connection, OS, auth) becomes one line
        hint = _hint(exc)
        raise HubError(scrub(f"could not {step}: {_one_line(exc, token)}{hint}", token)) from None
    return UploadResult(repo_id=repo_id, commit_url=scrub(commit_url, token), commit_oid=oid, revision=revision, tag=tag)


def _hint(exc: BaseException) -> str:
    text = f"{type(exc).__name__} {exc}".lower()
    if "401" in text or "403" in text or "unauthori" in text or "forbidden" in text or "token" in text:
        return "; check that HF_TOKEN or --token holds a token with write access"
    if "offline" in text or "connect" in text or "timeout" in text or "resolve" in text or "network" in text:
        return "; check the network connection (and that HF_HUB_OFFLINE is not set)"
    return ""
