"""The HTML, JSON and Markdown reports: self-contained, escaped, atomic, and in agreement."""

from __future__ import annotations

import base64
import html
import json
import os
import re
from html.parser import HTMLParser

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from report_setup import SCRIPT, Broken, ClosedFormError, Deletion, ExactShapley, Noisy, NoisyFloor, make_comparison

from agnostic_xai.comparison import compare
from agnostic_xai.exceptions import InvalidInputError
from agnostic_xai.reports import report_content, to_markdown, write_html, write_json
from agnostic_xai.reports.content import format_number, to_jsonable
from agnostic_xai.testing import LinearModel

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class Collector(HTMLParser):
    """Every start tag with its attributes, every id in order, and all text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)

    def handle_data(self, data):
        self.text.append(data)

    def find(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for t, attrs in self.tags if t == tag]


def parse(text: str) -> Collector:
    collector = Collector()
    collector.feed(text)
    collector.close()
    return collector


@pytest.fixture(scope="module")
def report(comparison, tmp_path_factory):
    plt.close("all")
    path = write_html(comparison, tmp_path_factory.mktemp("html") / "report.html", title=f"Review of {SCRIPT}")
    return path, path.read_text(encoding="utf-8")


# ---------------------------------------------------------------------- HTML
def test_html_is_written_parses_and_leaks_no_figure(report):
    path, text = report
    assert path.name == "report.html" and text.startswith("<!DOCTYPE html>")
    assert plt.get_fignums() == []
    parsed = parse(text)
    assert [t for t, _ in parsed.tags][:2] == ["html", "head"]
    assert parsed.find("title") and parsed.find("style")


def test_html_embeds_every_image_as_png(report, comparison):
    _, text = report
    images = parse(text).find("img")
    # 3 leaderboards, 2 curves, global importance, beeswarm, 1 waterfall, dependence, tree,
    # and the agreement heatmap where the registry has the agreement metric.
    has_agreement = report_content(comparison).agreement is not None
    assert len(images) == 10 + has_agreement
    for attrs in images:
        src = attrs["src"]
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1], validate=True).startswith(PNG_SIGNATURE)
        assert attrs["alt"]


def test_html_references_nothing_outside_itself(report):
    _, text = report
    assert "http://" not in text and "https://" not in text
    parsed = parse(text)
    for tag, attrs in parsed.tags:
        assert tag not in {"script", "link", "iframe", "object", "embed", "base"}
        for name in ("src", "href", "action", "srcset"):
            if attrs.get(name) is not None:
                assert attrs[name].startswith(("data:image/png;base64,", "#")), (tag, name, attrs[name][:40])
    # and nothing hidden inside the images either (matplotlib's Software tag has a URL)
    for attrs in parsed.find("img"):
        assert b"http" not in base64.b64decode(attrs["src"].split(",", 1)[1])


def test_html_escapes_user_text(report):
    _, text = report
    assert SCRIPT not in text and "<b>loudly</b>" not in text
    assert html.escape(SCRIPT) in text  # feature name (reproducibility) and title
    assert "&lt;b&gt;loudly&lt;/b&gt;" in text  # an error message
    parsed = parse(text)
    assert not parsed.find("script") and not parsed.find("b")
    assert SCRIPT in "".join(parsed.text)  # shown to the reader as the literal text


def test_html_sections_in_order_summary_first(report):
    _, text = report
    ids = [attrs["id"] for tag, attrs in parse(text).tags if tag == "section"]
    assert ids == ["summary", "table", "plots", "surrogate", "failures", "reproducibility"]


def test_html_summary_states_the_verdicts(report, comparison):
    _, text = report
    content = report_content(comparison)
    summary = text[text.index('id="summary"') : text.index('id="table"')]
    for sentence in content.headline:
        assert html.escape(sentence) in summary
    # exact_shapley is the ground truth of this comparison (it has a ground-truth metric): a
    # reference, left out of every verdict, so the surrogate it tied with on deletion wins.
    assert "References, shown but never ranked: exact_shapley (ground truth)" in summary
    assert "deletion_auc ↓: surrogate_tree is significantly best" in summary
    assert "surrogate_tree is significantly best" in summary  # against the ground truth, exact left out
    assert "Cheapest" in summary and "5 failed and 0 skipped" in summary


def test_html_summary_table_rows_and_best_cells(report, comparison):
    _, text = report
    table = text[text.index('<table class="summary">') :]
    table = table[: table.index("</table>")]
    parsed = parse(table)
    rows = [attrs for tag, attrs in parsed.tags if tag == "tr"]
    assert len(rows) == 1 + 4  # header + one per explainer
    headers = "".join(parsed.text)
    assert "deletion_auc ↓" in headers and "insertion_auc ↑" in headers and "s / row" in headers
    cells = [attrs for tag, attrs in parsed.tags if tag == "td"]
    assert len(cells) == 4 * 6
    best = [attrs for attrs in cells if attrs.get("class") == "best"]
    content = report_content(comparison)
    assert len(best) == sum(len(c.best) for c in content.columns)
    assert len(best) >= 6  # at least one best per column


def test_html_surrogate_failures_and_reproducibility(report, comparison):
    _, text = report
    surrogate = text[text.index('id="surrogate"') : text.index('id="failures"')]
    rules = comparison.explainers["surrogate_tree"].rules_[0]
    assert f"<pre>{html.escape(rules)}</pre>" in surrogate
    assert f"fidelity R² = {format_number(comparison.explainers['surrogate_tree'].fidelity_[0], 3)}" in surrogate
    failures = text[text.index('id="failures"') : text.index('id="reproducibility"')]
    parsed = parse(failures)
    assert len([t for t, _ in parsed.tags if t == "tr"]) == 1 + len(comparison.failures)
    words = "".join(parsed.text)
    for needle in ("broken", "explain", "RuntimeError", "failing_metric", "ValueError", "deliberately broken"):
        assert needle in words
    reproducibility = "".join(parse(text[text.index('id="reproducibility"') :]).text)
    versions = comparison.config["versions"]
    for needle in ("seed", "numpy", versions["numpy"], "scikit-learn", "scale", "income"):
        assert needle in reproducibility


def test_html_options(comparison, tmp_path):
    path = write_html(comparison, tmp_path / "r.html", max_plots=2, rows_to_show=(1, 2), explainer="noisy")
    text = path.read_text(encoding="utf-8")
    assert len(parse(text).find("img")) == 2
    assert "more plots were left out (max_plots=2)" in text
    matrix = pd.DataFrame(np.eye(4), index=comparison.explainer_names, columns=comparison.explainer_names)
    text = write_html(
        comparison, tmp_path / "r.html", rows_to_show=(1, 2), explainer="noisy", agreement=matrix
    ).read_text()
    headings = [t for t in parse(text).text if t.startswith(("Row ", "Agreement"))]
    assert headings == ["Agreement between explainers", "Row 1: noisy", "Row 2: noisy"]
    assert len(parse(text).find("img")) == 12
    with pytest.raises(InvalidInputError, match="rows_to_show"):
        write_html(comparison, tmp_path / "x.html", rows_to_show=(24,))
    with pytest.raises(InvalidInputError, match="explainer 'broken'"):
        write_html(comparison, tmp_path / "x.html", explainer="broken")
    with pytest.raises(InvalidInputError, match="directory"):
        write_html(comparison, tmp_path / "missing" / "x.html")
    assert not (tmp_path / "x.html").exists()


def test_agreement_left_out_with_a_note_when_the_metric_is_unavailable(comparison):
    content = report_content(comparison, agreement="no_such_agreement")
    assert content.agreement is None and "not available" in content.notes[0]
    assert report_content(comparison, agreement=None).notes == ()


def test_a_comparison_where_everything_failed(tmp_path):
    failed = make_comparison(explainers=[Broken()], metrics=[Deletion()])
    text = write_html(failed, tmp_path / "failed.html").read_text(encoding="utf-8")
    assert "No explainer produced an explanation" in text and "deliberately broken" in text
    assert not parse(text).find("img")
    document = json.loads(write_json(failed, tmp_path / "failed.json").read_text())
    assert document["rows"] == [] and document["failures"][0]["explainer"] == "broken"
    assert "| explainer |" not in to_markdown(failed)


def test_verdict_with_a_significant_winner_and_the_cost_leader_among_candidates():
    two = make_comparison(
        explainers={"exact_shapley": ExactShapley(), "noisy_2": Noisy(scale=2.0), "random": NoisyFloor(scale=5.0)},
        metrics=[Deletion()],
    )
    content = report_content(two)
    (verdict,) = content.verdicts
    assert verdict.winner == two.winner("deletion_auc") == "exact_shapley"
    assert verdict.not_beaten == () and "exact_shapley is significantly best" in verdict.statement
    assert content.ground_truth == ()
    assert content.cost_leader.explainer != "random" and content.cost_leader.excluded == ("random",)
    assert content.headline[-1] == "No failures."


def test_to_jsonable():
    value = {"a": np.array([1.0, np.nan]), 2: (np.int64(3), np.float32(np.inf)), "b": pd.NA, "c": object}
    assert to_jsonable(value) == {"a": [1.0, None], "2": [3, None], "b": None, "c": repr(object)}
    assert json.dumps(to_jsonable(value), allow_nan=False)


# ---------------------------------------------------------------------- atomic writing
def test_an_existing_report_is_replaced_whole_and_no_temp_file_is_left(comparison, tmp_path):
    path = tmp_path / "report.html"
    path.write_text("old report " * 100_000)
    write_html(comparison, path, max_plots=1)
    text = path.read_text(encoding="utf-8")
    assert "old report" not in text and text.rstrip().endswith("</html>")
    write_json(comparison, tmp_path / "report.json")
    assert sorted(os.listdir(tmp_path)) == ["report.html", "report.json"]


def test_a_failed_write_leaves_the_old_report_and_no_temp_file(comparison, tmp_path, monkeypatch):
    path = tmp_path / "report.json"
    path.write_text("previous")

    def crash(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        write_json(comparison, path)
    assert path.read_text() == "previous" and os.listdir(tmp_path) == ["report.json"]


# ---------------------------------------------------------------------- JSON
@pytest.fixture(scope="module")
def document(comparison, tmp_path_factory):
    path = write_json(comparison, tmp_path_factory.mktemp("json") / "report.json")

    def reject(constant):
        raise AssertionError(f"non-standard JSON constant {constant}")

    return json.loads(path.read_text(encoding="utf-8"), parse_constant=reject)


def test_json_round_trips_and_agrees_with_summary(document, comparison):
    assert document["format"] == "agnostic-xai.report/1"
    summary = comparison.summary(marked=False)
    assert [r["explainer"] for r in document["rows"]] == list(summary.index)
    for row in document["rows"]:
        for metric in comparison.metric_names:
            for stat in ("mean", "ci_low", "ci_high", "rank"):
                assert row["cells"][metric][stat] == pytest.approx(
                    summary.loc[row["explainer"], (metric, stat)], rel=1e-12
                ) or (row["cells"][metric][stat] is None and np.isnan(summary.loc[row["explainer"], (metric, stat)]))
        assert row["seconds_per_row"] == pytest.approx(summary.loc[row["explainer"], ("cost", "seconds_per_row")])
    assert {c["key"]: c["higher_is_better"] for c in document["columns"] if c["kind"] == "metric"} == {
        m: comparison.higher_is_better(m) for m in comparison.metric_names
    }


def test_json_holds_the_report_content(document, comparison):
    content = report_content(comparison)
    assert document["headline"] == list(content.headline)
    assert [v["metric"] for v in document["verdicts"]] == ["deletion_auc", "insertion_auc"]
    (truth,) = document["ground_truth"]
    assert truth["winner"] == "surrogate_tree" and truth["excluded"] == ["exact_shapley"]
    assert len(document["failures"]) == len(comparison.failures)
    assert document["surrogates"][0]["rules"] == comparison.explainers["surrogate_tree"].rules_[0]
    assert document["reproducibility"]["seed"] == 0
    assert document["reproducibility"]["feature_names"][2] == SCRIPT
    assert document["reproducibility"]["metrics"]["shapley_error"]["weights"] == [2.0, -1.0, 0.5, 0.0, 1.5]
    importance = comparison.global_importance()
    assert document["global_importance"]["features"] == list(importance.index)
    for name, values in document["global_importance"]["explainers"].items():
        np.testing.assert_allclose(values, importance[name], rtol=1e-12)


def test_json_table_records_with_nulls(document, comparison):
    table = document["table"]
    assert len(table) == len(comparison.table)
    assert set(table[0]) == set(comparison.table.columns)
    np.testing.assert_allclose([r["score"] for r in table], comparison.table["score"], rtol=1e-12)
    seeds = {r["explainer"]: r["seed"] for r in table}
    assert seeds["exact_shapley"] is None and isinstance(seeds["noisy"], int)  # missing seed -> null
    assert all(isinstance(r["score"], float) for r in table)


def test_json_nan_is_null(comparison, tmp_path):
    names = comparison.explainer_names
    matrix = pd.DataFrame(np.eye(4), index=names, columns=names)
    matrix.iloc[0, 1] = np.nan
    path = write_json(comparison, tmp_path / "r.json", agreement=matrix, include_table=False)
    document = json.loads(path.read_text())
    assert document["agreement"]["matrix"][0][1] is None and document["agreement"]["matrix"][1][1] == 1.0
    assert "table" not in document
    assert "NaN" not in path.read_text()


# ---------------------------------------------------------------------- Markdown
def test_markdown_summary_and_one_row_per_explainer(comparison):
    text = comparison.to_markdown()
    assert text == to_markdown(comparison)
    lines = text.splitlines()
    table = [line for line in lines if line.startswith("|")]
    assert len(table) == 2 + len(comparison.explainer_names)
    assert table[0].startswith("| explainer | deletion_auc ↓ | insertion_auc ↑")
    for sentence in report_content(comparison).headline:
        assert any(sentence.replace("|", "\\|") in line for line in lines)
    header_cells = table[0].count(" | ")
    assert all(row.count(" | ") == header_cells for row in table[2:])


def test_markdown_escapes_pipes_and_html(rng):
    weights = np.array([1.0, -2.0, 0.5])
    labelled = compare(
        LinearModel(weights),
        rng.normal(size=(12, 3)),
        explainers={"a|b": Noisy(), SCRIPT: Noisy(scale=1.0)},
        metrics=[ClosedFormError(weights)],
        progress=False,
    )
    text = to_markdown(labelled)
    assert "a\\|b" in text and SCRIPT not in text and "&lt;script&gt;" in text
    rows = [line for line in text.splitlines() if line.startswith("|")][2:]
    assert len(rows) == 2
    for row in rows:  # pipes inside names do not split cells
        cells = re.split(r"(?<!\\)\|", row)[1:-1]
        assert len(cells) == 1 + 1 + 3  # explainer, shapley_error, mean rank and two costs


def test_comparison_methods_delegate(comparison, tmp_path):
    assert comparison.to_html(tmp_path / "c.html", max_plots=0).read_text().count("<img") == 0
    assert json.loads(comparison.to_json(tmp_path / "c.json").read_text())["format"] == "agnostic-xai.report/1"
