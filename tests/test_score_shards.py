"""Score tables as Parquet shards: streaming selection equals select_top, merging keeps every row in order."""

from __future__ import annotations

import numpy as np
import pytest

from alc_data.errors import AlcError
from alc_data.scoring import ScoreTable, select_top
from alc_data.scoring import shards as shards_mod
from alc_data.scoring.shards import (
    Shard,
    count_rows,
    merge_shards,
    ordered_shards,
    select_top_from_shards,
    write_shards,
)


def _image_table(rng: np.random.Generator, image_id: str) -> ScoreTable:
    n = int(rng.integers(0, 30))
    return ScoreTable(
        image_id=image_id,
        superpixel_id=rng.permutation(50)[:n],
        rep_row=rng.integers(0, 10, n), rep_col=rng.integers(0, 10, n),
        label_at_rep=rng.integers(0, 3, n), dominant=rng.integers(0, 3, n), area=rng.integers(1, 100, n),
        score=rng.choice([0.0, 0.25, 0.5, 1.0, np.nan], n),  # few distinct values: many ties, and NaN
    )


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("per_shard", [1, 3, 64])
def test_streamed_selection_equals_select_top_with_ties_and_exclusions(tmp_path, seed, per_shard, monkeypatch):
    rng = np.random.default_rng(seed)
    ids = [f"img{rng.integers(0, 10**6):06d}_{i}" for i in range(25)]  # image order is not name order
    tables = [_image_table(rng, i) for i in ids]
    whole = ScoreTable.concat(tables)
    asked = {(str(whole.image_id[r]), int(whole.superpixel_id[r])) for r in rng.choice(len(whole), 40, replace=False)}
    budget = int(rng.integers(1, len(whole) - 40))
    expected = select_top(whole, budget, exclude=asked)
    shards = write_shards(tmp_path, iter(tables), images_per_shard=per_shard)
    paths = [s.path for s in ordered_shards(shards, len(ids))]
    monkeypatch.setattr(shards_mod, "SELECT_BUFFER_ROWS", 8)  # force the running cut-back on small data
    got = select_top_from_shards(paths, budget, exclude=asked)
    assert got.equals(expected)
    assert not {(str(a), int(b)) for a, b in zip(got.image_id, got.superpixel_id)} & asked
    assert count_rows(paths) == len(whole)
    merge_shards(paths, tmp_path / "scores.parquet")
    assert ScoreTable.from_parquet(tmp_path / "scores.parquet").equals(whole)


def test_selection_never_holds_every_row(tmp_path, monkeypatch):
    rng = np.random.default_rng(1)
    tables = [_image_table(rng, f"i{i:03d}") for i in range(60)]
    shards = write_shards(tmp_path, tables, images_per_shard=2)
    monkeypatch.setattr(shards_mod, "SELECT_BUFFER_ROWS", 16)
    seen: list[int] = []
    real_concat = ScoreTable.concat.__func__

    def spy(cls, parts):
        parts = list(parts)
        out = real_concat(cls, parts)
        seen.append(len(out))
        return out

    monkeypatch.setattr(ScoreTable, "concat", classmethod(spy))
    select_top_from_shards([s.path for s in shards], 5)
    total = sum(len(t) for t in tables)
    assert max(seen) < total / 4  # bounded by the buffer, not by the number of rows


def test_shards_must_cover_every_image_once(tmp_path):
    a = Shard(start=0, images=2, rows=3, path=tmp_path / "a")
    b = Shard(start=2, images=3, rows=1, path=tmp_path / "b")
    assert [s.start for s in ordered_shards([b, a], 5)] == [0, 2]
    with pytest.raises(AlcError, match="cover"):
        ordered_shards([a], 5)  # a batch lost
    with pytest.raises(AlcError, match="cover"):
        ordered_shards([a, a, b], 5)  # a batch reported twice


def test_a_batch_is_split_into_runs_of_consecutive_images():
    from alc_data.engine import batch_runs, images_per_batch

    # rows of a batch in any order: runs by image position, rows listed in image order
    assert batch_runs([7, 3, 4, 9, 8]) == [(3, [1, 2]), (7, [0, 4, 3])]
    assert batch_runs([]) == []
    assert images_per_batch(10, 2, 64) == 5 and images_per_batch(10_000, 4, 64) == 64 and images_per_batch(0, 2, 64) == 1


@pytest.mark.parametrize("resources, gpu, concurrency, expected", [
    ({"CPU": 16.0, "GPU": 4.0}, True, None, (4, 1)),  # a model: one actor per GPU, each holding one
    ({"CPU": 16.0, "GPU": 4.0}, False, None, (16, 0)),  # CPU work on a GPU cluster: one actor per CPU
    ({"CPU": 8.0}, True, None, (8, 0)),  # a model on a CPU-only cluster: CPU actors
    ({"CPU": 16.0, "GPU": 4.0}, True, 2, (2, 1)),  # concurrency given
])
def test_actor_pool_follows_the_cluster(resources, gpu, concurrency, expected):
    from types import SimpleNamespace

    from alc_data.engine import actor_options

    fake_ray = SimpleNamespace(cluster_resources=lambda: resources,
                               data=SimpleNamespace(ActorPoolStrategy=lambda size: SimpleNamespace(size=size)))
    pool = actor_options(fake_ray, gpu=gpu, concurrency=concurrency)
    assert (pool["compute"].size, pool["num_gpus"]) == expected and pool["num_cpus"] == 1
    with pytest.raises(AlcError, match="at least 1 actor"):
        actor_options(fake_ray, gpu=gpu, concurrency=0)
