"""The dataset card (README.md): YAML metadata + prose, built with huggingface_hub's card classes."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from alc_data.constants import IGNORE_INDEX, SECONDS_PER_CLASSIFICATION_QUERY, SECONDS_PER_CORRECTION_QUERY
from alc_data.publish.features import correction_features, default_features
from alc_data.ingest.base import DEMO_LABELS, LABELS_FROM_GT
from alc_data.queries.cost import describe_relabels

if TYPE_CHECKING:
    from huggingface_hub import DatasetCardData

    from alc_data.publish.result import BuildResult
    from alc_data.workspace import Workspace

ALC_BIBTEX = """@inproceedings{kim2024active,
  title         = {Active Label Correction for Semantic Segmentation with Foundation Models},
  author        = {Kim, Hoyoung and Hwang, Sehyun and Kwak, Suha and Ok, Jungseul},
  booktitle     = {Proceedings of the 41st International Conference on Machine Learning (ICML)},
  year          = {2024},
  eprint        = {2403.10820},
  archivePrefix = {arXiv}
}"""

SOURCE_BIBTEX = {
    "voc": """@article{everingham2010pascal,
  title   = {The Pascal Visual Object Classes (VOC) Challenge},
  author  = {Everingham, Mark and Van Gool, Luc and Williams, Christopher K. I. and Winn, John and Zisserman, Andrew},
  journal = {International Journal of Computer Vision},
  volume  = {88},
  number  = {2},
  pages   = {303--338},
  year    = {2010}
}""",
    "cityscapes": """@inproceedings{cordts2016cityscapes,
  title     = {The Cityscapes Dataset for Semantic Urban Scene Understanding},
  author    = {Cordts, Marius and Omran, Mohamed and Ramos, Sebastian and Rehfeld, Timo and Enzweiler, Markus and Benenson, Rodrigo and Franke, Uwe and Roth, Stefan and Schiele, Bernt},
  booktitle = {Proceedings of the IEEE Conference on Computer Vision and Pattern Recognition (CVPR)},
  pages     = {3213--3223},
  year      = {2016}
}""",
    "coco": """@inproceedings{lin2014microsoft,
  title     = {Microsoft COCO: Common Objects in Context},
  author    = {Lin, Tsung-Yi and Maire, Michael and Belongie, Serge and Hays, James and Perona, Pietro and Ramanan, Deva and Doll\\'ar, Piotr and Zitnick, C. Lawrence},
  booktitle = {European Conference on Computer Vision (ECCV)},
  pages     = {740--755},
  year      = {2014}
}""",
}


def source_citation(dataset: str | None) -> str | None:
    """BibTeX of the source dataset by workspace dataset name prefix (voc, cityscapes, coco), else None."""
    name = (dataset or "").lower()
    for prefix, bib in SOURCE_BIBTEX.items():
        if name.startswith(prefix):
            return bib
    return None


def size_category(n: int) -> str:
    for limit, label in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M")):
        if n < limit:
            return label
    return "1M<n<10M"


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def _num(x: float | None) -> str:
    return "–" if x is None else f"{x:.2f}"


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.2f}"


def render_body(ws: Workspace, result: BuildResult, *, pretty_name: str, repo_id: str | None, ledger: dict[str, Any]) -> str:
    """The markdown prose of the card."""
    dataset = ws.catalogue.meta("dataset")
    lines = [
        *_intro_and_usage(dataset, result, pretty_name=pretty_name, load_id=repo_id or "path/to/this/folder"),
        *_structure(ws, result),
        *_history(dataset, result, ledger),
        *_quality(result),
        "## Licence",
        "",
        "The images and the original annotation keep the source dataset's terms of use; the `license` field above "
        + ("applies to the corrections." if result.version != result.original else "applies to this packaging of them."),
        "",
        "## Citation",
        "",
        "```bibtex",
        ALC_BIBTEX,
        "```",
        "",
    ]
    src = source_citation(dataset)
    if src:
        lines += ["Source dataset:", "", "```bibtex", src, "```", ""]
    return "\n".join(lines)


def _intro_and_usage(dataset: str | None, result: BuildResult, *, pretty_name: str, load_id: str) -> list[str]:
    """The card's title, first paragraph and usage snippet (the ``corrections`` line only when that
    config was written)."""
    first = next(iter(result.splits), "train")
    origin = _origin(result.extra.get("labels_from"))
    if result.version == result.original:
        intro = (f"`{dataset}` with its segmentation labels as they are in label version `{result.version}` ({origin}), "
                 "packaged with alc-data. No correction has been applied to them: `label` and `label_original` hold "
                 "the same labels.")
    else:
        intro = (f"`{dataset}` with its segmentation labels corrected by Active Label Correction (ALC; Kim et al., "
                 "ICML 2024), made with alc-data. The `label` column holds the corrected labels (label version "
                 f"`{result.version}`), `label_original` the labels the correction started from (`{result.original}`, "
                 f"{origin}).")
    ledger = ([f'corrections = load_dataset("{load_id}", "corrections")["train"]   # the correction ledger']
              if result.corrections else [])
    return [
        f"# {pretty_name}",
        "",
        intro,
        "",
        "## Usage",
        "",
        "```python",
        "import numpy as np",
        "from datasets import load_dataset",
        "",
        f'ds = load_dataset("{load_id}")            # one split per dataset split',
        f'example = ds["{first}"][0]',
        f'label = np.array(example["label"])            # (H, W) uint8 class indices, {IGNORE_INDEX} = void',
        'original = np.array(example["label_original"])  # the labels before correction',
        'changed = label != original                    # what the correction changed',
        *ledger,
        "```",
        "",
        "Label PNGs are 8-bit palette images with the full 256-entry palette: `np.array(PIL image)` gives the "
        "class indices. Do not convert them to RGB or cast the column with `Image(mode=...)`; that loses the indices.",
        "",
    ]


def _structure(ws: Workspace, result: BuildResult) -> list[str]:
    """The configs, splits, columns and classes of the folder."""
    void_rgb = tuple(int(c) for c in ws.catalogue.palette[IGNORE_INDEX])
    lines = [
        "## Structure",
        "",
        "Config `default`:",
        "",
        "| split | images |",
        "| --- | ---: |",
        *[f"| {s} | {n} |" for s, n in result.splits.items()],
        "",
        "| column | content |",
        "| --- | --- |",
        "| `image` | the image (the source file's bytes) |",
        f"| `label` | {'corrected labels' if result.version != result.original else 'labels'} (`{result.version}`), "
        "palette PNG of class indices |",
        f"| `label_original` | labels before correction (`{result.original}`), palette PNG of class indices |",
        "| `image_id` | the source dataset's image id |",
        "| `classes_present` | indices of the classes in `label` (a list of `ClassLabel`, void excluded) |",
        "",
    ]
    if result.corrections:
        lines += [
            f"Config `corrections` (split `train`, {result.corrections} rows): one row per ledger row along the "
            "version history, a correction a person (or an oracle) made or an automatic relabel, with "
            "`image_id`, `superpixel_set`/`superpixel_id` (the region the answer was expanded to), `old_class` / "
            f"`new_class` (indices; `*_name` columns give names, {IGNORE_INDEX} = void), `pixels` changed, `round`, "
            "`label_version`, the query and answer ids, answer `status`, `source`, `annotator` and `answered_at` (UTC).",
            "Automatic relabels (`source` = `propagated`) have no query, answer or annotator: they have "
            "`propagation_id`, the module's `confidence`, the `model` (checkpoint file name), `answered_at` (when the "
            "module made them) and `review`, a person's verdict (`accepted`, `rejected`: the pixels carry the "
            "person's class, recorded in a correction row of the review round; null: not reviewed). These four "
            "columns are null in the other rows.",
            "",
        ]
    else:
        lines += ["The ledger records no correction of the published images, so there is no `corrections` config.", ""]
    lines += [
        "Classes (`id2label.json`, `label2color.json`):",
        "",
        "| index | name | colour |",
        "| ---: | --- | --- |",
        *[f"| {c.index} | {c.name} | {tuple(int(x) for x in c.color)} |" for c in ws.catalogue.classes],
        f"| {IGNORE_INDEX} | void (ignore: borders and unlabelled pixels) | {void_rgb} |",
        "",
    ]
    return lines


SPREAD = {"label": "changes the pixels of its superpixel that carry the label it corrected",
          "superpixel": "gives its class to its whole superpixel", "pixel": "changes only its own pixel"}
"""How an answer spreads, by ``--expand``."""


def _spread(rounds: list[dict[str, Any]]) -> str:
    """How the rounds' answers spread (``--expand`` of each round's corrections): one clause when all
    rounds agree, else one per round."""
    modes = {r["expand"] for r in rounds}
    if len(modes) == 1:
        return "each answer " + SPREAD.get(str(next(iter(modes))), "is spread over its superpixel")
    return "; ".join(f"round {r['round']}: each answer " + SPREAD.get(str(r["expand"]), "is spread over its superpixel")
                     for r in rounds)


def _history(dataset: str | None, result: BuildResult, ledger: dict[str, Any]) -> list[str]:
    """How the labels were made: the version history and the ledger's rounds behind it."""
    rounds = ledger["rounds"]
    history = "Version history: " + " → ".join(f"`{n}`" for n in result.lineage) + "."
    origin = _origin(result.extra.get("labels_from"))
    if rounds:
        first = (f"The labels `{result.original}` of `{dataset}` ({origin}) were corrected in rounds: a segmentation "
                 "model trained on the current labels scores every superpixel, the top-scoring superpixels become "
                 "correction queries (an image, a box and one representative pixel with its current label: the "
                 f"annotator accepts it or gives the right class), and {_spread(rounds)}. " + history)
    elif result.version == result.original:
        first = f"The labels `{result.version}` of `{dataset}` are {origin}; no correction has been applied to them."
    else:
        first = f"The labels `{result.version}` were made from `{result.original}` of `{dataset}` ({origin}). " + history
    lines = ["## How it was made", "", first, ""]
    if rounds:
        lines += [
            "| round | acquisition | budget | queries | accepted | corrected | unanswerable | version |",
            "| ---: | --- | ---: | ---: | ---: | ---: | ---: | --- |",
            *[
                f"| {r['round']} | {r['acquisition']} | {r['budget']} | {r['queries']} | {r['accepted']} | "
                f"{r['corrected']} | {r['unanswerable']} | {r['output_version']} |"
                for r in rounds
            ],
            "",
        ]
        t = ledger["total"]
        lines += [
            f"{len(rounds)} round{'s' if len(rounds) != 1 else ''}, budget {t['budget']} queries, {t['answered']} "
            f"answered ({t['corrected']} corrected, {t['accepted']} accepted, {t['unanswerable']} unanswerable). "
            f"Estimated annotation time: {_duration(t['answered'] * SECONDS_PER_CORRECTION_QUERY)} with correction "
            f"queries ({SECONDS_PER_CORRECTION_QUERY} s each, the ALC paper's user study) against "
            f"{_duration(t['answered'] * SECONDS_PER_CLASSIFICATION_QUERY)} with classification queries "
            f"({SECONDS_PER_CLASSIFICATION_QUERY} s each).",
            "",
        ]
        if ledger.get("all_queries", t["queries"]) > t["queries"]:
            lines += [f"The counts are of the queries on the published images ({t['queries']} of the rounds' "
                      f"{ledger['all_queries']} queries); the budget is the rounds' own.", ""]
        if ledger["sources"]:
            lines += ["Answer sources: " + ", ".join(f"`{s}` ({n})" for s, n in ledger["sources"].items()) + ".", ""]
        auto = ledger.get("propagated") or {}
        if auto.get("relabels"):
            lines += [f"Automatic relabels (source `propagated`: a label-correction module trained on the round's "
                      f"answers relabelled regions nobody was asked about): {describe_relabels(auto)}. They are "
                      "counted apart from the corrections people made above.", ""]
    elif result.version != result.original:
        lines += ["The ledger records no correction round for this version.", ""]
    return lines


def _quality(result: BuildResult) -> list[str]:
    """What changed, and the data mIoU where there is a reference to measure it against."""
    share = result.changed_pixels / result.pixels if result.pixels else 0.0
    lines = [
        "## Changes and quality",
        "",
        f"{result.changed_pixels:,} of {result.pixels:,} pixels ({100 * share:.3f} %) differ between `label_original` "
        f"and `label`, in {result.images_changed} of {result.images} images.",
        "",
    ]
    if result.miou:
        lines += [
            "Data mIoU (%) of the labels against the reference ground truth (pixels either side marks void are "
            "skipped; coverage = share of pixels counted, in %; the same numbers as `alc-data eval`):",
            "",
            "| split | images | before | after | coverage before | coverage after |",
            "| --- | ---: | ---: | ---: | ---: | ---: |",
            *[
                f"| {s} | {m['images']} | {_num(m['before'])} | {_num(m['after'])} | {_pct(m['coverage_before'])} | "
                f"{_pct(m['coverage_after'])} |"
                for s, m in result.miou.items()
            ],
            "",
        ]
    else:
        why = ("the original labels are the dataset's own annotation" if result.extra.get("labels_from") in (None, LABELS_FROM_GT)
               else "the workspace holds no reference ground truth for the published images")
        lines += [
            f"There is no independent ground truth to measure data mIoU against ({why}), so quality is reported as "
            "the change above; audit it with `alc-data diff` or by comparing `label` with `label_original`.",
            "",
        ]
    return lines


def _origin(labels_from: str | None) -> str:
    """What the original labels are, from ``labels_from`` (see :mod:`alc_data.publish.origin`)."""
    if labels_from in (None, LABELS_FROM_GT):
        return "the dataset's own annotation"
    if labels_from == DEMO_LABELS:
        return "the demo's simulated Grounded-SAM pseudo labels"
    if labels_from == "pseudo-label":
        return "pseudo labels made with `alc-data pseudo-label`"
    return "labels imported at ingest"


def card_data(ws: Workspace, result: BuildResult, folder: Path, *, license: str, pretty_name: str) -> Any:
    """``huggingface_hub.DatasetCardData`` with licence, task ids, configs and dataset_info.

    ``folder``: the built folder (its shard sizes give ``download_size``).
    """
    from huggingface_hub import DatasetCardData

    configs = []
    for config, splits in result.data_files.items():
        entry: dict[str, Any] = {"config_name": config}
        if config == "default":
            entry["default"] = True
        entry["data_files"] = [{"split": s, "path": paths} for s, paths in splits.items()]
        configs.append(entry)
    data = DatasetCardData(
        license=license,
        task_categories=["image-segmentation"],
        task_ids=["semantic-segmentation"],
        pretty_name=pretty_name,
        size_categories=[size_category(result.images)],
        tags=["alc-data", "label-correction", "semantic-segmentation"],
        configs=configs,
    )
    try:
        _add_dataset_info(data, ws, result, Path(folder))
    except ImportError:  # pragma: no cover - datasets is a dependency; the card is still valid without it
        pass
    return data


def _add_dataset_info(data: DatasetCardData, ws: Workspace, result: BuildResult, folder: Path) -> None:
    from datasets.info import DatasetInfo, DatasetInfosDict
    from datasets.splits import SplitDict, SplitInfo


    infos = {}
    for config, splits in result.data_files.items():
        sd = SplitDict()
        for split in splits:
            rows = result.splits[split] if config == "default" else result.corrections
            sd.add(SplitInfo(name=split, num_bytes=result.num_bytes[config][split], num_examples=rows))
        feats = default_features(ws.catalogue.class_names) if config == "default" else correction_features()
        size = sum(result.num_bytes[config].values())
        download = sum((folder / p).stat().st_size for ps in splits.values() for p in ps)
        infos[config] = DatasetInfo(features=feats, splits=sd, dataset_size=size, download_size=download)
    DatasetInfosDict(infos).to_dataset_card_data(data)


def render_card(ws: Workspace, result: BuildResult, folder: Path, *, license: str, pretty_name: str | None, repo_id: str | None) -> str:
    """The dataset card (``README.md``) of a built folder, as text; ``result`` is the
    :class:`~alc_data.publish.result.BuildResult` (its ``extra["ledger"]`` from
    :func:`~alc_data.publish.rounds.published_ledger`)."""
    from huggingface_hub import DatasetCard

    corrected = "labels corrected with ALC, " if result.version != result.original else "labels "
    pretty = pretty_name or f"{ws.catalogue.meta('dataset')} ({corrected}{result.version})"
    from alc_data.publish.rounds import published_ledger

    ledger = result.extra.get("ledger") or published_ledger(ws, result.lineage)
    data = card_data(ws, result, folder, license=license, pretty_name=pretty)
    body = render_body(ws, result, pretty_name=pretty, repo_id=repo_id, ledger=ledger)
    return str(DatasetCard(f"---\n{data.to_yaml()}\n---\n\n{body}"))


__all__ = ["ALC_BIBTEX", "SOURCE_BIBTEX", "card_data", "render_body", "render_card", "source_citation"]
