"""Hub ids → local folders through the Hugging Face cache, the way ``from_pretrained`` resolves them.

``resolve_pretrained("facebook/sam-vit-huge")`` returns the cached snapshot folder of that repository
(downloading it first when the hub can be reached and it is not cached yet); an existing local file or
folder is returned unchanged. Offline (``HF_HUB_OFFLINE=1`` or no network) and not cached → one-line
:class:`~alc_data.errors.NotFound` saying what to fetch and where it goes.

The cache location and offline mode are read from the environment at call time (``HF_HUB_CACHE``,
``HF_HOME``, ``XDG_CACHE_HOME``; ``HF_HUB_OFFLINE`` / ``TRANSFORMERS_OFFLINE``), with the same
precedence as huggingface_hub, so a caller may point them elsewhere after import.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from alc_data.errors import InvalidInput, NotFound

#: files fetched for a model repository (weights in safetensors; .bin only when a repo has none)
MODEL_FILES = ("*.json", "*.txt", "*.model", "*.safetensors")

_HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")


def hub_cache_dir() -> Path:
    """The Hugging Face hub cache folder, from the environment now (not at import)."""
    env = os.environ
    if env.get("HF_HUB_CACHE"):
        return Path(env["HF_HUB_CACHE"]).expanduser()
    if env.get("HUGGINGFACE_HUB_CACHE"):
        return Path(env["HUGGINGFACE_HUB_CACHE"]).expanduser()
    home = env.get("HF_HOME") or os.path.join(env.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "huggingface")
    return Path(home).expanduser() / "hub"


def hub_offline() -> bool:
    """True when ``HF_HUB_OFFLINE`` or ``TRANSFORMERS_OFFLINE`` is set to a true value."""
    values = (os.environ.get("HF_HUB_OFFLINE"), os.environ.get("TRANSFORMERS_OFFLINE"))
    return any((v or "").strip().lower() in ("1", "true", "yes", "on") for v in values)


_FILE_SUFFIXES = (".pth", ".pt", ".bin", ".safetensors", ".ckpt", ".onnx")


def looks_like_hub_id(value: str | os.PathLike) -> bool:
    """``owner/name`` that is not an existing local path nor a weight file name (``./owner/name`` and
    ``dir/model.pth`` are always local)."""
    text = str(value)
    return (
        bool(_HUB_ID.match(text))
        and not text.lower().endswith(_FILE_SUFFIXES)
        and not Path(text).expanduser().exists()
    )


def local_or_hub(value: str | os.PathLike, *, what: str = "model") -> Path:
    """A hub id → its cached snapshot folder (:func:`resolve_pretrained`); anything else → the local
    path as given (its loader reports a missing file in its own words)."""
    if looks_like_hub_id(value):
        return resolve_pretrained(value, what=what)
    return Path(str(value)).expanduser()


def _fetch_hint(repo_id: str, revision: str | None, cache: Path, what: str, *, local: str = "folder") -> str:
    rev = f" --revision {revision}" if revision else ""
    where = "neither a local path nor" if local == "folder" else "not"
    return (
        f"{what} {repo_id!r} is {where} in the Hugging Face cache ({cache}), and the hub cannot be reached; "
        f"run `hf download {repo_id}{rev}` once online (it fills that cache; HF_HUB_CACHE moves it), "
        f"or pass a local {local}"
    )


def download_files(
    repo_id: str, filenames: tuple[str, ...], *, revision: str | None = None, what: str = "model", local: str = "file"
) -> list[Path]:
    """Paths of ``filenames`` of ``repo_id`` in the hub cache, fetched when online and missing."""
    from huggingface_hub import hf_hub_download

    cache = hub_cache_dir()
    out = []
    for name in filenames:
        try:
            out.append(Path(hf_hub_download(repo_id, name, revision=revision, cache_dir=cache, local_files_only=hub_offline())))
        except Exception as exc:  # noqa: BLE001 - offline, connection, missing file: same fix
            raise NotFound(_fetch_hint(repo_id, revision, cache, what, local=local) + f" ({type(exc).__name__})") from None
    return out


def resolve_pretrained(value: str | os.PathLike, *, what: str = "model", revision: str | None = None) -> Path:
    """A local file or folder as is; a hub id (``owner/name``) → its snapshot folder in the cache.

    Online and not cached: the repository's config, tokenizer/processor and safetensors weights are
    downloaded into the cache first (``.bin`` weights only when it has no safetensors). Anything else
    (a missing local path, offline without a cache) → one-line AlcError naming the fix.
    """
    path = Path(str(value)).expanduser()
    if path.exists():
        return path
    text = str(value)
    if not _HUB_ID.match(text):
        raise NotFound(f"{text}: {what} not found; pass an existing local file or folder, or a hub id such as owner/name")
    from huggingface_hub import snapshot_download

    cache = hub_cache_dir()
    try:
        folder = Path(snapshot_download(text, revision=revision, cache_dir=cache, local_files_only=True))
    except Exception:  # noqa: BLE001 - not cached (or partially): fetch below when allowed
        folder = None
    if folder is None:
        if hub_offline():
            raise NotFound(_fetch_hint(text, revision, cache, what))
        try:
            folder = Path(snapshot_download(text, revision=revision, cache_dir=cache, allow_patterns=list(MODEL_FILES)))
            if not any(folder.glob("*.safetensors")):
                folder = Path(snapshot_download(text, revision=revision, cache_dir=cache, allow_patterns=["*.bin"]))
        except Exception as exc:  # noqa: BLE001 - no network, unknown repo, gated: one line
            raise NotFound(_fetch_hint(text, revision, cache, what) + f" ({type(exc).__name__})") from None
    if not (folder / "config.json").is_file():
        raise InvalidInput(f"{text}: the cached snapshot {folder} has no config.json; it is not a transformers model repository")
    return folder


@dataclass(frozen=True)
class PinnedSnapshot:
    """A hub model as this process resolved it (``repo_id`` at commit ``revision``, cached at ``path``),
    to be loaded by another process, maybe on another machine: :meth:`local` is ``path`` when that
    machine sees it (a shared cache), else the same commit from its own cache (fetched when online)."""

    repo_id: str
    revision: str
    path: Path

    def local(self, what: str = "model") -> Path:
        return self.path if self.path.exists() else resolve_pretrained(self.repo_id, what=what, revision=self.revision)


def pinned(value: str | os.PathLike, resolved: Path) -> Path | PinnedSnapshot:
    """What to hand another process for ``value``, which :func:`local_or_hub` resolved to ``resolved``:
    a :class:`PinnedSnapshot` for a hub id found as a cache snapshot (``.../snapshots/<commit>``),
    else ``resolved`` (a local path: it must be on a filesystem the other process sees)."""
    if looks_like_hub_id(value) and resolved.parent.name == "snapshots":
        return PinnedSnapshot(repo_id=str(value), revision=resolved.name, path=resolved)
    return resolved


__all__ = ["MODEL_FILES", "PinnedSnapshot", "pinned", "download_files", "hub_cache_dir", "hub_offline", "local_or_hub", "looks_like_hub_id", "resolve_pretrained"]
