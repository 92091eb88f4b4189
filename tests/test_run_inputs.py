"""`alc-data run` and what it is given: answers CSV files (empty, partly filled, for a finished round),
recipe values checked before anything is written, and the commands it prints, pasted back as printed."""

from __future__ import annotations

import csv
import json
import re
import shlex
from pathlib import Path

import pytest

from cli_helpers import invoke

# the tester's recipe: 6 training images of 32×32, 3 iterations, one round of 2 queries
OK_TOML = (
    'extends="demo"\n[data]\nsource="demo"\nn_train=6\nn_val=3\nsize=32\n'
    "[train]\niterations=3\nbatch_size=2\ncrop_size=32\n"
    "[loop]\nrounds=1\nbudget=2\nfinal_train=false\n"
)


@pytest.fixture
def ok_recipe(tmp_path, monkeypatch) -> Path:
    """``ok.toml`` in the current folder (relative paths, as a person types them)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "ok.toml").write_text(OK_TOML)
    return tmp_path / "ok.toml"


def _hints(text: str) -> list[list[str]]:
    """The ``alc-data run ...`` commands quoted in backticks in ``text``, as argument lists (from ``run``)."""
    return [shlex.split(c)[1:] for c in re.findall(r"`(alc-data run [^`]*)`", text)]


def _answer(src: Path, dst: Path, answers: list[str]) -> None:
    """``src`` (a round's queries.csv) with its first answer cells filled, written to ``dst``."""
    rows = list(csv.DictReader(src.open(newline="")))
    for row, answer in zip(rows, answers):
        row["answer"] = answer
    with dst.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def _answers_in_ledger(ws_dir: Path) -> int:
    from alc_data.workspace import Workspace

    ws = Workspace.open(ws_dir)
    return sum(len(ws.ledger.answers(r.round)) for r in ws.ledger.rounds())


# ---------------------------------------------------------------- defect 1 and 3: answers files and hints
def test_csv_answers_are_recorded_until_the_round_is_complete_and_the_hint_pastes(ok_recipe, capsys):
    res = invoke(capsys, ["run", "ok.toml", "-w", "w1", "--answers-from", "csv"])
    assert res.exit_code == 0, res.output
    queries = Path("w1/runs/ok/round-01/queries.csv")
    assert queries.is_file()
    (hint,) = _hints(res.output)
    assert "FILE.csv" in hint and "--answers-from" in hint and "-w" in hint

    # the file as exported, nothing answered: the round is not done, nothing is recorded
    _answer(queries, Path("e.csv"), [])
    res = invoke(capsys, [a if a != "FILE.csv" else "e.csv" for a in hint])  # the hint, pasted
    assert res.exit_code == 0, res.output
    assert "0 of 2" in res.output and "2 rows" in res.output and "still empty" in res.output, res.output
    assert _answers_in_ledger(Path("w1")) == 0

    # one row filled: recorded, the run still waits for the other
    _answer(queries, Path("e.csv"), ["accept"])
    res = invoke(capsys, ["run", "ok.toml", "-w", "w1", "--answers-from", "csv", "--answers", "e.csv", "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["waiting_for_answers"]
    assert "1 of 2" in res.stderr and "1 row " in res.stderr, res.stderr
    assert _answers_in_ledger(Path("w1")) == 1

    # both filled: applied, the round is done with 2 clicks
    _answer(queries, Path("e.csv"), ["accept", "skip"])
    res = invoke(capsys, ["run", "ok.toml", "-w", "w1", "--answers-from", "csv", "--answers", "e.csv", "--json"])
    assert res.exit_code == 0, res.output
    table = json.loads(res.stdout)
    assert not table["waiting_for_answers"] and table["rounds"][-1]["clicks"] == 2
    assert _answers_in_ledger(Path("w1")) == 2

    # answers for a finished run are not silently ignored
    res = invoke(capsys, ["run", "ok.toml", "-w", "w1", "--answers-from", "csv", "--answers", "e.csv"])
    assert res.exit_code == 2, res.output
    assert "done" in res.stderr and "e.csv" in res.stderr and "nothing was recorded" in res.stderr, res.stderr


def test_answers_file_without_csv_answers_is_refused_before_anything_is_written(ok_recipe, capsys):
    Path("e.csv").write_text("query_id,answer\n")
    res = invoke(capsys, ["run", "ok.toml", "-w", "w1", "--answers", "e.csv"])
    assert res.exit_code == 2 and "--answers-from csv" in res.stderr, res.output
    assert not Path("w1").exists()
    res = invoke(capsys, ["run", "ok.toml", "-w", "w1", "--answers-from", "csv", "--answers", "missing.csv"])
    assert res.exit_code == 2 and "missing.csv" in res.stderr, res.output
    assert not Path("w1").exists()


def test_annotate_hint_pastes(ok_recipe, capsys):
    res = invoke(capsys, ["run", "ok.toml", "-w", "w1", "--answers-from", "annotate", "--name", "people"])
    assert res.exit_code == 0, res.output
    (hint,) = _hints(res.output)
    res = invoke(capsys, [*hint, "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["run"] == "people" and json.loads(res.stdout)["waiting_for_answers"]


# ---------------------------------------------------------------- defect 2: checks before work is done
def _folder_recipe(root: Path, gt: bool) -> Path:
    from test_recipe_config import _folder_dataset

    _folder_dataset(root / "data")
    recipe = root / "folder.toml"
    recipe.write_text(
        'extends = "ok.toml"\n[data]\nsource = "folder"\n'
        f'images = "{root / "data" / "images"}"\nlabels = "{root / "data" / "labels"}"\n'
        + (f'gt = "{root / "data" / "gt"}"\n' if gt else "")
        + f'classes = "{root / "data" / "classes.txt"}"\n'
        '[superpixels]\nset = "slic"\nmethod = "slic"\nparams = { n_segments = 12 }\n'
        "[eval]\nmodel_split = \"train\"\n"
    )
    return recipe


def test_oracle_without_ground_truth_is_refused_before_ingest(ok_recipe, capsys):
    recipe = _folder_recipe(ok_recipe.parent, gt=False)
    res = invoke(capsys, ["run", str(recipe), "-w", "ws"])
    assert res.exit_code == 2, res.output
    assert "ground truth" in res.stderr and "--answers-from csv" in res.stderr, res.stderr
    assert "--answers FILE.csv instead" not in res.stderr
    assert not Path("ws").exists()


@pytest.mark.parametrize(
    "override, message",
    [
        ("superpixels.set=nope", "superpixels.set = 'nope'"),
        ("eval.model_split=nope", "eval.model_split = 'nope'"),
        ("loop.split=nope", "loop.split = 'nope'"),
        ("loop.init_model=nope.pt", "loop.init_model"),
    ],
)
def test_values_the_data_will_not_have_are_refused_before_anything_is_written(ok_recipe, capsys, override, message):
    res = invoke(capsys, ["run", "ok.toml", "-w", "w1", "--set", override])
    assert res.exit_code == 2, res.output
    assert message in res.stderr and len(res.stderr.strip().splitlines()) == 1, res.stderr
    assert not Path("w1").exists()


def test_values_an_existing_workspace_lacks_are_refused_before_the_run_writes(ok_recipe, capsys):
    from alc_data.demo import build_demo_workspace

    build_demo_workspace(Path("w1"), n_train=6, n_val=3, size=(32, 32), seed=0)
    for override, message in (("superpixels.set=nope", "superpixels.set = 'nope'"),
                              ("eval.model_split=nope", "eval.model_split = 'nope'")):
        res = invoke(capsys, ["run", "ok.toml", "-w", "w1", "--set", override])
        assert res.exit_code == 2 and message in res.stderr, res.output
        assert "nothing of run 'ok' was written" in res.stderr, res.stderr
        assert not Path("w1/runs/ok").exists()


def test_a_run_that_failed_before_its_first_round_resumes_with_a_fixed_recipe(ok_recipe, capsys):
    res = invoke(capsys, ["run", "ok.toml", "-w", "w1", "--set", "loop.budget=100000"])
    assert res.exit_code == 2 and "nothing was trained" in res.stderr, res.output
    assert not Path("w1/runs/ok").exists()  # the refused run left no run folder to conflict with
    res = invoke(capsys, ["run", "ok.toml", "-w", "w1", "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["rounds"][-1]["clicks"] == 2


def test_a_missing_default_model_split_is_said_in_the_output(ok_recipe, capsys):
    res = invoke(capsys, ["run", "ok.toml", "-w", "w1", "--set", "data.n_val=0", "--json"])
    assert res.exit_code == 0, res.output
    assert "no split 'val'" in res.stderr and "model mIoU" in res.stderr, res.stderr


def test_the_demo_refuses_answers_from_people_with_a_run_command_that_pastes(tmp_path, capsys):
    res = invoke(capsys, ["demo", "-o", str(tmp_path / "d"), "--set", "loop.answers_from=csv"])
    assert res.exit_code == 2 and not (tmp_path / "d").exists(), res.output
    (hint,) = _hints(res.stderr)
    assert hint[:2] == ["run", "demo"] and "--answers-from" in hint



# ---------------------------------------------------------------- red team: run names, --set, resume
@pytest.mark.parametrize("name", ["../outside", "/tmp/alc-abs-run", ".", "a b", "a" * 300])  # 300: too long a file name
def test_a_run_name_that_is_no_folder_name_is_refused_before_anything_is_written(ok_recipe, capsys, name):
    res = invoke(capsys, ["run", "ok.toml", "-w", "w1", "--name", name])
    assert res.exit_code == 2 and f"run name {name!r} is not allowed" in res.stderr, res.output
    assert len(res.stderr.strip().splitlines()) == 1, res.stderr
    assert not Path("w1").exists() and not Path("outside").exists() and not Path("/tmp/alc-abs-run").exists()


def test_a_library_loop_refuses_a_run_name_that_leaves_the_runs_folder(demo_ws):
    from alc_data.errors import InvalidInput
    from alc_data.loop import Loop, read_recipe

    with pytest.raises(InvalidInput, match="run name '../x' is not allowed"):
        Loop(demo_ws, read_recipe("demo"), name="../x")


def test_set_data_source_replaces_the_data_table_as_extends_does():
    from alc_data.loop import read_recipe

    recipe = read_recipe("demo", ["data.source=folder", "data.images=imgs", "data.classes=c.txt", "data.labels=lab"])
    assert recipe.data.FORMAT == "folder" and recipe.data.reader_arguments()["images"] == "imgs"
    assert read_recipe("demo", ["data.n_train=5"]).data.n_val == 20  # same source: merged key by key


def test_a_changed_recipe_is_refused_naming_the_values_that_differ(ok_recipe, capsys):
    assert invoke(capsys, ["run", "ok.toml", "-w", "w1"]).exit_code == 0
    res = invoke(capsys, ["run", "ok.toml", "-w", "w1", "--set", "loop.budget=3", "--set", "loop.rounds=2"])
    assert res.exit_code == 2 and len(res.stderr.strip().splitlines()) == 1, res.output
    assert "loop.budget = 2 in the run, 3 now" in res.stderr and "loop.rounds = 1 in the run, 2 now" in res.stderr
    assert "--name NEW" in res.stderr


def test_a_run_whose_folder_was_deleted_is_refused_rather_than_mixed_with_its_old_rounds(ok_recipe, capsys):
    import shutil

    assert invoke(capsys, ["run", "ok.toml", "-w", "w1"]).exit_code == 0
    shutil.rmtree("w1/runs/ok")
    res = invoke(capsys, ["run", "ok.toml", "-w", "w1", "--json"])
    assert res.exit_code == 2 and res.stdout == "", res.output
    assert "run 'ok'" in res.stderr and "round 1" in res.stderr and "--name NEW" in res.stderr, res.stderr
    assert len(res.stderr.strip().splitlines()) == 1, res.stderr
    res = invoke(capsys, ["run", "ok.toml", "-w", "w1", "--name", "again", "--json"])
    table = json.loads(res.stdout)
    assert res.exit_code == 0 and [r["clicks"] for r in table["rounds"]] == [0, 2], res.output


def test_ctrl_c_says_how_to_resume(ok_recipe, capsys, monkeypatch):
    from alc_data.loop import Loop

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(Loop, "run", interrupted)
    res = invoke(capsys, ["run", "ok.toml", "-w", "w1"])
    assert res.exit_code == 130 and "interrupted; re-run the same command to resume" in res.stderr, res.output


def test_the_round_table_of_a_balanced_propagating_run_says_so(ok_recipe, capsys):
    """rounds.json, --json, the table's title and the plot's legend used to call SIM + ABC + LCM plain 'sim'."""
    res = invoke(capsys, ["run", "ok.toml", "-w", "w1", "--set", "loop.balance=abc", "--set", "loop.propagate=true",
                          "--json"])
    assert res.exit_code == 0, res.output
    table = json.loads(res.stdout)
    assert table["acquisition"] == "sim" and table["balance"] == "abc" and table["propagate"] is True
    assert json.loads(Path("w1/runs/ok/rounds.json").read_text())["balance"] == "abc"
    from alc_data.loop.table import RunTable

    shown = RunTable(run="ok", acquisition="sim", waiting_for_answers=False, run_dir="w1/runs/ok", rounds=(),
                     balance="abc", propagate=True)
    assert shown.label == "sim+abc+lcm"
    assert RunTable(run="ok", acquisition="sim", waiting_for_answers=False, run_dir="", rounds=()).label == "sim"


def test_ctrl_c_promises_a_resume_only_where_the_command_resumes(capsys, monkeypatch, tmp_path):
    """Red team, session 7: `errors` interrupted said "re-run the same command to resume", but it keeps
    nothing to resume from and starts over."""
    import alc_data.stages.find_errors as stage

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(stage, "find_errors", interrupted)
    monkeypatch.setattr("alc_data_cli.find_errors.open_workspace", lambda path: None)
    res = invoke(capsys, ["--no-wait", "errors", "-w", str(tmp_path), "--predictions", str(tmp_path)])
    assert res.exit_code == 130, res.output
    assert "resume" not in res.stderr and "start again" in res.stderr, res.stderr


def test_names_that_become_folders_have_a_length_limit():
    """Red team, session 7: a 300-character run name crashed ("internal error: OSError: File name too
    long"); the same held for label-version and superpixel-set names, which become folders too."""
    from alc_data.errors import InvalidInput
    from alc_data.loop.run_files import run_folder_name
    from alc_data.workspace.db import check_name

    assert check_name("set", "a" * 100) == "a" * 100
    for check in (lambda n: check_name("superpixel set", n), run_folder_name):
        with pytest.raises(InvalidInput, match="at most 100 characters"):
            check("a" * 101)


def test_a_runs_recipe_json_is_a_recipe_again_and_equal_lists_resume(ok_recipe, capsys):
    """Red team, session 7: the README calls recipe.json "readable as a recipe again", but `run
    recipe.json` said "not valid TOML"; and a one-value list (`loop.budget=[2]`, which repeats its value)
    was refused on resume as another recipe than `loop.budget=2`."""
    assert invoke(capsys, ["run", "ok.toml", "-w", "w1"]).exit_code == 0
    saved = Path("w1/runs/ok/recipe.json")
    res = invoke(capsys, ["run", str(saved), "-w", "w1", "--json"])
    assert res.exit_code == 0, res.output  # the same run, resumed from its own recipe: already done
    res = invoke(capsys, ["run", "ok.toml", "-w", "w1", "--set", "loop.budget=[2]", "--json"])
    assert res.exit_code == 0, res.output
    Path("bad.json").write_text("{not json")
    res = invoke(capsys, ["run", "bad.json", "-w", "w1"])
    assert res.exit_code == 2 and "bad.json: not valid JSON" in res.stderr and len(res.stderr.strip().splitlines()) == 1


def test_a_propagating_run_says_what_the_module_relabelled_each_round(ok_recipe, capsys):
    """Red team, session 7: the round table, --json and rounds.json said nothing of propagation, and a
    round that relabelled nothing wrote no version, so the threshold it used was recorded nowhere."""
    res = invoke(capsys, ["run", "ok.toml", "-w", "w1", "--set", "loop.propagate=true",
                          "--set", "loop.propagate_threshold=0.05", "--json"])
    assert res.exit_code == 0, res.output
    rows = json.loads(res.stdout)["rounds"]
    from alc_data.workspace import Workspace

    made = len(Workspace.open(Path("w1")).ledger.propagations())
    assert rows[0]["relabelled"] == 0 and rows[1]["relabelled"] == made
    assert rows[0]["propagate_threshold"] is None and rows[1]["propagate_threshold"] == 0.05
    assert json.loads(Path("w1/runs/ok/rounds.json").read_text())["rounds"][1]["relabelled"] == made
    res = invoke(capsys, ["run", "ok.toml", "-w", "w1", "--set", "loop.propagate=true",
                          "--set", "loop.propagate_threshold=0.05"])
    assert res.exit_code == 0 and "relabelled" in res.stdout, res.output


def test_ctrl_c_while_the_command_line_loads_is_one_line():
    """Red team, session 7: Ctrl-C in the first second of any command printed a KeyboardInterrupt traceback
    from the imports; the console script (alc_data_cli.entry) now guards them."""
    import subprocess
    import sys

    script = (
        "import sys\n"
        "class Stop:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'alc_data_cli.main':\n"
        "            raise KeyboardInterrupt\n"
        "sys.meta_path.insert(0, Stop())\n"
        "from alc_data_cli.entry import main\n"
        "main()\n"
    )
    res = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert res.returncode == 130 and "Traceback" not in res.stderr and "interrupted" in res.stderr, res.stderr
    assert 'alc-data = "alc_data_cli.entry:main"' in (Path(__file__).parents[1] / "pyproject.toml").read_text()
