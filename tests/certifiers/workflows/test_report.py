"""``sdpsolve report``: table numbers on a synthetic result set counted by hand, and non-empty PNG plots.

Oracle: the expected shares are computed by hand from the records written below (see the comments).
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from certifiers.engine import ResultStore, key_for
from certifiers.workflows import PLOT_FILES, format_table, load_results, plot_method_errors, summarize
from sdpsolve import cli


def _example(index, label, predicted, bounds, method, eps, time, **flags):
    rec = {"index": index, "label": label, "predicted": predicted,
           "bounds": {str(j): v for j, v in bounds.items()}, "bound_kind": flags.pop("kind", "closed-form"),
           "method": method, "eps": eps, "time": time}
    rec.update(flags)
    return rec


@pytest.fixture
def result_files(tmp_path):
    # file A: a ResultStore file of model "net-a" (named in the header), methods ibp and pgd at ε = 0.1
    a = tmp_path / "a.jsonl"
    config = {"model": "fp-a", "model_name": "net-a", "methods": {"ibp": {}, "pgd": {"steps": 5}}, "eps": [0.1]}
    with ResultStore(a, config) as store:
        for i in range(10):
            label = i % 3
            predicted = (label + 1) % 3 if i in (0, 1) else label  # 2 of 10 misclassified: clean error 20 %
            certified = 2 <= i <= 6  # 5 of 10 certified: certified error 50 %
            b = -1.0 if certified else 0.5
            store.add(_example(i, label, predicted, {j: b - 0.1 * j for j in range(3) if j != label}, "ibp", 0.1,
                               float(i + 1), certified=certified), key=key_for("fp-a", "ibp", {}, 0.1, i))
            adversarial = i in (0, 1, 7)  # attack error 30 %
            store.add(_example(i, label, predicted, {j: 0.2 if adversarial else -0.3 for j in range(3) if j != label},
                               "pgd", 0.1, 0.01 * (i + 1), kind="attack", adversarial=adversarial),
                      key=key_for("fp-a", "pgd", {"steps": 5}, 0.1, i))
    # file B: plain JSON lines of model "net-b" without `certified` fields (derived from the bounds)
    b = tmp_path / "b.jsonl"
    recs = [
        _example(0, 1, 1, {0: -0.5, 2: -0.1}, "ibp", 0.05, 2.0, model="net-b"),  # certified
        _example(1, 1, 1, {0: -0.5, 2: 0.3}, "ibp", 0.05, 4.0, model="net-b"),  # one bound > 0
        _example(2, 0, 2, {1: -0.5, 2: -0.2}, "ibp", 0.05, 6.0, model="net-b"),  # misclassified
        _example(3, 2, 2, {0: -0.5, 1: -0.7}, "ibp", 0.05, 100.0, model="net-b"),  # certified
        _example(0, 1, 1, {0: float("inf"), 2: -1.0}, "ibp", 0.1, 1.0, model="net-b", certified=False),
        # duplicate of file A's (net-a, ibp, 0.1, 3), which was certified: must be ignored
        _example(3, 0, 0, {1: 9.0, 2: 9.0}, "ibp", 0.1, 1.0, model="net-a", certified=False),
        # a per-target record: skipped by the report
        {"index": 0, "target": 2, "label": 1, "predicted": 1, "method": "ibp", "eps": 0.05, "bound": -0.1},
    ]
    b.write_text("".join(json.dumps(r) + "\n" for r in recs))
    return a, b


def test_summary_numbers(result_files):
    loaded = load_results(result_files)
    assert (loaded.duplicates, loaded.skipped) == (1, 1)
    rows = summarize(loaded.records)
    got = [(r.model, r.method, r.eps, r.bound_kind, r.n, r.clean_error, r.certified_error, r.attack_error,
            r.median_time) for r in rows]
    assert got == [
        ("net-a", "ibp", 0.1, "closed-form", 10, 0.2, 0.5, None, 5.5),
        ("net-a", "pgd", 0.1, "attack", 10, 0.2, None, pytest.approx(0.3), pytest.approx(0.055)),
        ("net-b", "ibp", 0.05, "closed-form", 4, 0.25, 0.5, None, 5.0),
        ("net-b", "ibp", 0.1, "closed-form", 1, 0.0, 1.0, None, 1.0),
    ]
    text = format_table(rows)
    lines = text.splitlines()
    assert lines[0].split()[:5] == ["model", "method", "kind", "eps", "N"]
    assert lines[2].split() == ["net-a", "ibp", "closed-form", "0.1", "10", "20.0%", "50.0%", "-", "5.5", "s"]
    assert lines[3].split() == ["net-a", "pgd", "attack", "0.1", "10", "20.0%", "-", "30.0%", "55", "ms"]
    md = format_table(rows, markdown=True).splitlines()
    assert md[0].startswith("| model |")
    assert md[2] == "| net-a | ibp | closed-form | 0.1 | 10 | 20.0% | 50.0% | - | 5.5 s |"


def test_cli_report_prints_table_and_writes_pngs(result_files, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    out_dir = tmp_path / "plots"
    code = cli.main(["report", str(result_files[0]), str(result_files[1]), "--out-dir", str(out_dir)])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "net-b" in out and "50.0%" in out and "30.0%" in out
    assert "1 duplicate records ignored" in out and "1 non-example records skipped" in out

    from matplotlib.image import imread

    for name in PLOT_FILES:
        path = out_dir / name
        assert path.is_file() and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
        img = imread(path)
        assert img.shape[0] > 200 and img.shape[1] > 300
        ink = np.mean(np.any(img[..., :3] < 0.9, axis=-1))
        assert ink > 0.01, f"{name} is nearly blank ({ink:.3%} of pixels drawn)"


def test_cli_report_json_format_and_errors(result_files, tmp_path, capsys):
    assert cli.main(["report", str(result_files[1]), "--no-plots", "--format", "json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["model"], r["eps"], r["n"]) for r in rows] == [("net-a", 0.1, 1), ("net-b", 0.05, 4), ("net-b", 0.1, 1)]
    assert not list(tmp_path.glob("*.png"))

    assert cli.main(["report", str(tmp_path / "missing.jsonl"), "--no-plots"]) == 2
    assert "results file not found" in capsys.readouterr().err
    empty = tmp_path / "targets_only.jsonl"
    empty.write_text(json.dumps({"index": 0, "target": 1, "method": "ibp", "eps": 0.1}) + "\n")
    assert cli.main(["report", str(empty), "--no-plots"]) == 2
    assert "no example records" in capsys.readouterr().err


def test_plot_method_errors_writes_one_png(result_files, tmp_path):
    """The demo's bar chart: one PNG, for one (model, ε) group or several (labels then name them)."""
    pytest.importorskip("matplotlib")
    a, b = result_files
    one = plot_method_errors(load_results([a]).records, tmp_path / "plots" / "one.png")
    several = plot_method_errors(load_results([a, b]).records, tmp_path / "several.png", title="two models")
    for path in (one, several):
        assert path.is_file() and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert one == tmp_path / "plots" / "one.png"
