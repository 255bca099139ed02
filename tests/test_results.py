"""mupbook.results: the one shape of every results/*.json file."""

import json

import pytest

from mupbook import results


def _doc(**over):
    doc = {
        "experiment": "demo",
        "config": {"steps": 1},
        "reproduction": [results.row("accuracy", 66.0, 66.4, unit="%")],
        "provenance": results.provenance(
            "mupbook.experiments.demo", ["--scale", "full"], seeds=[0]
        ),
    }
    doc.update(over)
    return doc


def test_write_then_load_round_trips_and_leaves_no_temporary_file(tmp_path):
    out = results.write_json(tmp_path / "r.json", _doc())
    assert results.load(out)["reproduction"][0]["paper"] == 66.4
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]
    assert results.load_all(tmp_path).keys() == {"r"}


def test_provenance_names_the_command_the_revision_and_the_hardware():
    prov = results.provenance(
        "mupbook.experiments.demo", ["--seed", 3], seeds=[3], seconds=1.5
    )
    assert prov["command"] == [
        "python",
        "-m",
        "mupbook.experiments.demo",
        "--seed",
        "3",
    ]
    assert prov["git_revision"] is None or len(prov["git_revision"]) == 40
    assert {"device", "torch", "cpu_count"} <= prov["hardware"].keys()
    assert prov["seeds"] == [3] and prov["seconds"] == 1.5


def test_a_nan_number_is_refused_before_anything_is_written(tmp_path):
    with pytest.raises(ValueError, match="not a finite number"):
        results.row("accuracy", float("nan"), 66.4)
    doc = _doc()
    doc["reproduction"][0]["ours"] = float("nan")
    with pytest.raises(ValueError):
        results.write_json(tmp_path / "r.json", doc)
    assert not (tmp_path / "r.json").exists()


@pytest.mark.parametrize(
    "broken, match",
    [
        ({"reproduction": None}, "must be a list"),
        ({"provenance": {}}, "provenance lacks"),
    ],
)
def test_a_malformed_document_is_rejected_with_what_is_missing(
    tmp_path, broken, match
):
    with pytest.raises(ValueError, match=match):
        results.write_json(tmp_path / "r.json", _doc(**broken))
    bare = {k: v for k, v in _doc().items() if k != "config"}
    with pytest.raises(ValueError, match="missing keys"):
        results.validate(bare)


def test_a_corrupt_file_says_to_rerun_its_command(tmp_path):
    (tmp_path / "r.json").write_text("{not json")
    with pytest.raises(ValueError, match="rerun the command"):
        results.load(tmp_path / "r.json")
    json.loads(json.dumps(_doc()))
