"""mupbook.reproduction: the reproduction page is filled from results/ and nothing else."""

import json

import pytest

from mupbook import reproduction, results


def _write(folder, name, rows, experiment="maml", **prov):
    doc = {
        "experiment": experiment,
        "config": {"width": 8},
        "reproduction": rows,
        "provenance": {
            **results.provenance(
                f"mupbook.experiments.{experiment}",
                ["--scale", "full"],
                seeds=[0, 1],
                seconds=5400.0,
            ),
            **prov,
        },
    }
    return results.write_json(folder / name, doc)


def test_every_reproduction_row_of_every_results_file_appears_on_the_page(tmp_path):
    _write(
        tmp_path,
        "maml_linear.json",
        [
            results.row(
                "linear, muP limit", 66.1, 66.4, unit="%", note="5 seeds", ci95=0.3
            ),
            results.row("linear, width 8", 64.9, 64.5, unit="%"),
        ],
    )
    _write(
        tmp_path, "maml_relu.json", [results.row("ReLU, NTK", 47.5, 47.8, unit="%")]
    )
    _write(
        tmp_path,
        "word2vec_text8.json",
        [
            results.row("width 64 | text8", 33.0, 33.35, unit="%"),
            results.row("width 1M", 40.0, None, unit="%"),
        ],
        experiment="word2vec",
    )
    page = "\n".join(
        reproduction.section(name, tmp_path) for name in reproduction.EXPERIMENTS
    )
    for path in sorted(tmp_path.glob("*.json")):
        assert f"results/{path.name}" in page
        for row in results.load(path)["reproduction"]:
            line = next(
                line
                for line in page.splitlines()
                if line.startswith("| " + row["quantity"].replace("|", "\\|") + " |")
            )
            assert f"{row['ours']:.4g}" in line
            assert (
                "not in the paper" if row["paper"] is None else f"{row['paper']:.4g}"
            ) in line
    assert (
        "66.1 ± 0.3 %" in page and "-0.3" in page
    )  # ours with its ci95, ours - paper
    assert "python -m mupbook.experiments.maml --scale full" in page
    assert "90 min" in page and "seeds: 0, 1" in page


def test_a_missing_results_file_says_not_yet_run_with_its_command(tmp_path):
    text = reproduction.section("word2vec", tmp_path)
    assert "`results/word2vec_text8.json`: not yet run" in text
    assert "`results/word2vec_offline.json`: not yet run" in text
    assert "python -m mupbook.experiments.word2vec --config text8" in text
    assert "43.3 %" in text  # the paper's muP-limit number, waiting for ours
    maml = reproduction.section("maml", tmp_path)
    assert (
        "not yet run" in maml
        and "python -m mupbook.experiments.maml --model limit --scale full" in maml
    )


def test_another_configuration_of_an_experiment_is_shown_too(tmp_path):
    _write(
        tmp_path,
        "word2vec_quick.json",
        [results.row("width 64", 1.0, None, unit="%")],
        experiment="word2vec",
    )
    assert reproduction.unclaimed_files(tmp_path) == []
    text = reproduction.section("word2vec", tmp_path)
    assert "results/word2vec_quick.json" in text and text.count("not yet run") == 2
    _write(tmp_path, "resnet.json", [], experiment="resnet")
    assert [p.name for p in reproduction.unclaimed_files(tmp_path)] == ["resnet.json"]


def test_a_run_without_paper_numbers_says_so(tmp_path):
    _write(tmp_path, "mutransfer.json", [], experiment="mutransfer")
    text = reproduction.section("mutransfer", tmp_path)
    assert "reproduces no number of the paper" in text and "not yet run" not in text


@pytest.mark.parametrize(
    "content, match",
    [
        ("{not json", "not valid JSON"),
        (json.dumps({"experiment": "maml", "config": {}}), "missing keys"),
    ],
)
def test_a_malformed_results_file_is_an_error_naming_the_file(
    tmp_path, content, match
):
    (tmp_path / "maml_broken.json").write_text(content)
    with pytest.raises(ValueError, match=match) as err:
        reproduction.section("maml", tmp_path)
    assert "maml_broken.json" in str(err.value)


def test_a_row_whose_number_is_not_a_number_is_an_error_naming_the_row(tmp_path):
    path = _write(
        tmp_path, "maml_x.json", [results.row("linear, muP limit", 66.0, 66.4)]
    )
    doc = json.loads(path.read_text())
    doc["reproduction"][0]["ours"] = "66%"
    path.write_text(json.dumps(doc))
    with pytest.raises(
        ValueError,
        match=r"maml_x.json: reproduction row 0 .*'ours' must be a finite number",
    ):
        reproduction.section("maml", tmp_path)


def test_a_dirty_checkout_and_the_hardware_are_shown(tmp_path):
    _write(
        tmp_path,
        "mutransfer.json",
        [],
        experiment="mutransfer",
        git_revision="a" * 40,
        git_dirty=True,
    )
    text = reproduction.section("mutransfer", tmp_path)
    assert "`aaaaaaaaaaaa` with uncommitted changes" in text
    assert results.hardware()["device_name"] in text


def test_every_results_file_in_the_repository_belongs_to_an_experiment_of_the_page():
    from notebook_policy import ROOT

    assert reproduction.unclaimed_files(ROOT / "results") == []
    for name in reproduction.EXPERIMENTS:
        reproduction.section(
            name, ROOT / "results"
        )  # every real results file renders


def test_unknown_experiment_and_missing_folder_are_errors(tmp_path):
    with pytest.raises(ValueError, match="unknown experiment"):
        reproduction.section("resnet", tmp_path)
    with pytest.raises(FileNotFoundError, match="no results folder"):
        reproduction.section("maml", tmp_path / "nowhere")


def test_table1_of_the_paper_agrees_with_mupbook_abc():
    rows = reproduction.table1_rows()
    assert {r.name for r in rows} >= {"SP (lr ∝ 1/n)", "NTP", "MFP (L = 1)", "muP"}
    assert all(r.agrees for r in rows), [r for r in rows if not r.agrees]
    text = reproduction.parametrization_table()
    assert text.count("\n") == len(rows) + 1 and "**no**" not in text
    assert all(r.agrees for r in reproduction.table1_rows(depths=(2, 5)))
    with pytest.raises(ValueError, match="L >= 2"):
        reproduction.table1_rows(depths=(1,))
    assert (
        "| muP | 3 | (-1/2, 0, 0, 1/2) | (1/2, 1/2, 1/2, 1/2) | 0 | 0 | 0 | feature learning |"
        in text
    )


def test_table1_flags_a_disagreement(monkeypatch):
    wrong = dict(reproduction.PAPER_TABLE1["ntp"], regime="feature learning")
    monkeypatch.setitem(reproduction.PAPER_TABLE1, "ntp", wrong)
    assert "**no**" in reproduction.parametrization_table()


def test_the_pi_limit_section_names_its_own_paper_in_the_paper_column(tmp_path):
    _write(
        tmp_path,
        "pi_maml_pi-limit.json",
        [results.row("pi-limit", 53.5, 91.46, unit="%")],
        experiment="pi_maml",
    )
    page = reproduction.section("pi_maml", tmp_path)
    assert "paper (pi-limit paper, Table 1)" in page and "paper (TP4)" not in page
    assert "paper (TP4)" in reproduction.section("maml", tmp_path)
