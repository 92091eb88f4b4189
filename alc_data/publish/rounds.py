"""The ledger as the card reports it: the rounds behind a published version, counted on its images.

A round belongs to a published version when it made any version of the lineage, not only its last output
(a round answered in two steps makes two versions; publishing the first shows the round). Its answers
count when a version of the lineage applied them, and its queries and automatic relabels when they concern
a published image, so the counts agree with the ``corrections`` config and the pixels of the split(s).
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any, Collection

from alc_data.queries.cost import relabel_counts, relabels_as_of

if TYPE_CHECKING:
    from alc_data.workspace import Workspace

_TOTALS = ("budget", "queries", "answered", "accepted", "corrected", "unanswerable")


def rounds_of_lineage(ws: Workspace, lineage: list[str]) -> dict[int, str]:
    """Round → the newest version of ``lineage`` (oldest first) it made."""
    scope = set(lineage)
    made: dict[int, str] = {}
    by_name = {v.name: v for v in ws.labels.label_versions()}
    for name in lineage:  # oldest first: the newest version a round made wins
        v = by_name.get(name)
        if v is not None and v.round is not None and v.kind != "ingest":
            made[v.round] = name
    for r in ws.ledger.rounds():  # a version registered without its round
        if r.output_version in scope and r.round not in made:
            made[r.round] = r.output_version
    return dict(sorted(made.items()))


def published_ledger(ws: Workspace, lineage: list[str], image_ids: Collection[str] | None = None) -> dict[str, Any]:
    """The card's ledger summary of ``lineage`` (oldest version first) restricted to ``image_ids`` (None:
    every image): ``rounds`` (round, acquisition (with its class balance), expand (how its answers
    spread; None when no version says), budget, queries, answered, accepted, corrected,
    unanswerable, output_version: the newest version of the lineage the round made), ``total``,
    ``sources`` (answers per source), ``propagated`` (automatic relabels by verdict), ``all_queries`` (the
    rounds' queries on every image: more than the total when only some images are published)."""
    scope = set(lineage)
    ids = None if image_ids is None else set(image_ids)
    info = {r.round: r for r in ws.ledger.rounds()}
    spread: dict[int, str] = {}  # round -> how its answers were spread (--expand), from its correction versions
    for v in ws.labels.label_versions():
        if v.name in scope and v.kind == "correction" and v.round is not None and "expand" in v.params:
            spread.setdefault(v.round, str(v.params["expand"]))
    rows: list[dict[str, Any]] = []
    sources: Counter[str] = Counter()
    all_queries = 0
    for rnd, version in rounds_of_lineage(ws, lineage).items():
        if rnd not in info:
            continue
        queries = ws.ledger.queries(rnd)
        all_queries += len(queries)
        kept = {q.query_id for q in queries if ids is None or q.image_id in ids}
        answers = [a for a in ws.ledger.answers(rnd).values() if a.query_id in kept and a.applied_version in scope]
        status = Counter(a.status.value for a in answers)
        sources.update(a.source for a in answers)
        balance = info[rnd].params.get("balance")
        acquisition = info[rnd].acquisition + (f" + {balance}" if balance else "")
        rows.append({"round": rnd, "acquisition": acquisition, "expand": spread.get(rnd), "budget": info[rnd].budget, "queries": len(kept),
                     "answered": len(answers), "accepted": status["accepted"], "corrected": status["corrected"],
                     "unanswerable": status["unanswerable"], "output_version": version})
    relabels = [(p.pixels, verdict) for p, verdict in relabels_as_of(ws, lineage) if ids is None or p.image_id in ids]
    return {"rounds": rows, "total": {k: sum(r[k] for r in rows) for k in _TOTALS}, "sources": dict(sorted(sources.items())),
            "propagated": relabel_counts(relabels), "all_queries": all_queries}
