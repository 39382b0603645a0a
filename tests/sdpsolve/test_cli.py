"""Tests of the command line (sdpsolve.cli): ``sdpsolve solve`` and the subcommand registry.

Oracles: the known optima of tests.catalogue (the reported lower/upper must bracket them), the JSON contract
keys, and exit code 2 with a one-line message (no traceback) for bad input.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from sdpsolve import cli
from sdpsolve._io import write_gset
from tests.catalogue import by_name

CONTRACT_KEYS = {"lower", "upper", "gap", "bound_kind", "status", "n_matvec", "n_iter", "time"}


def _run_json(capsys, argv):
    code = cli.main(argv)
    out, err = capsys.readouterr()
    assert code == 0, err
    lines = [ln for ln in out.splitlines() if ln.strip()]
    assert len(lines) == 1, out
    return json.loads(lines[0])


def _bracket(d, optimum, tol=1e-9):
    assert d["lower"] <= optimum + tol, (d["lower"], optimum)
    assert d["upper"] >= optimum - tol, (d["upper"], optimum)


@pytest.fixture
def rank_one_npy(tmp_path):
    p = by_name("rank_one_E_none")
    f = tmp_path / "rank_one.npy"
    np.save(f, p.dense())
    return f, p.optimum


@pytest.fixture
def cycle5_gset(tmp_path):
    f = tmp_path / "C5.txt"
    write_gset(f, 5, [(i, (i + 1) % 5, 1) for i in range(5)])
    return f, by_name("cycle5_maxcut_E_all").optimum


def test_solve_npy_json_contract(capsys, rank_one_npy):
    f, opt = rank_one_npy
    d = _run_json(capsys, ["solve", str(f), "--json", "--seed", "0"])
    assert CONTRACT_KEYS <= set(d)
    assert d["n"] == 7 and d["file"] == str(f)
    assert d["bound_kind"] == "rigorous" and d["status"] == "converged"
    assert isinstance(d["n_matvec"], int) and d["n_matvec"] > 0 and isinstance(d["n_iter"], int)
    assert d["gap"] <= 1e-4 and d["time"] >= 0
    _bracket(d, opt)


def test_solve_gset_defaults_to_equal_all(capsys, cycle5_gset):
    f, opt = cycle5_gset
    d = _run_json(capsys, ["solve", str(f), "--json", "--seed", "1", "--rtol", "1e-6"])
    _bracket(d, opt)
    assert d["upper"] - opt <= 1e-5 * opt


def test_solve_equal_option_is_applied(capsys, tmp_path):
    """indefinite7 has three different optima for E = ∅, {0}, all: each --equal must bracket its own."""
    f = tmp_path / "indef.npy"
    np.save(f, by_name("indefinite7_E_none").dense())
    for flag, name in (
        ("none", "indefinite7_E_none"),
        ("0", "indefinite7_E_0"),
        ("all", "indefinite7_E_all"),
    ):
        d = _run_json(capsys, ["solve", str(f), "--json", "--seed", "2", "--equal", flag, "--rtol", "1e-6"])
        p = by_name(name)
        _bracket(d, p.optimum, tol=p.tolerance())
        assert d["upper"] <= p.optimum + 1e-4 * max(1.0, abs(p.optimum)), (flag, d["upper"], p.optimum)


def test_solve_readable_summary(capsys, cycle5_gset):
    f, _ = cycle5_gset
    assert cli.main(["solve", str(f), "--seed", "3"]) == 0
    out = capsys.readouterr().out
    for field in ("n         5", "all 5 rows", "method", "lower", "upper", "rigorous bound", "gap", "status",
                  "products", "time"):  # fmt: skip
        assert field in out, (field, out)


def test_solve_probabilistic_bound_reports_failure_probability(capsys, rank_one_npy):
    f, opt = rank_one_npy
    assert cli.main(["solve", str(f), "--bound", "probabilistic", "--seed", "4"]) == 0
    out = capsys.readouterr().out
    assert "probabilistic bound, failure probability" in out
    d = _run_json(capsys, ["solve", str(f), "--bound", "probabilistic", "--seed", "4", "--json"])
    assert d["bound_kind"] == "probabilistic" and 0 < d["failure_probability"] < 1
    _bracket(d, opt)


def test_json_is_strict(capsys, tmp_path):
    """Non-finite floats become null, so the output is standard JSON (parsable with NaN/Infinity refused)."""
    f = tmp_path / "diag.npy"
    np.save(f, by_name("diagonal_E_none").dense())
    assert cli.main(["solve", str(f), "--json", "--bound", "estimate", "--seed", "5"]) == 0
    out = capsys.readouterr().out
    d = json.loads(out, parse_constant=lambda c: pytest.fail(f"non-standard JSON constant {c}"))
    assert d["bound_kind"] == "estimate"


# -- bad input: exit 2, one clear line on stderr ----
@pytest.mark.parametrize(
    ("argv", "pattern"),
    [
        (["solve", "{dir}/absent.npy"], "no such file"),
        (["solve", "{bad}"], "line 2: vertex j = 9 is outside 1..3"),
        (["solve", "{good}", "--equal", "x"], "--equal must be 'all', 'none' or comma-separated"),
        (["solve", "{good}", "--equal", "0,99"], "99"),
        (["solve", "{good}", "--rtol", "-1"], "`rtol`"),
        (["solve", "{good}", "--method", "nonsense"], "`method` must be one of"),
        (["solve", "{good}", "-o", "no_such_option=1"], "no_such_option"),
        (["solve", "{good}", "--bound", "wrong"], "invalid choice"),
        (["solve"], "required: file"),
        ([], "usage: sdpsolve"),
    ],
)
def test_bad_input_exit_2(capsys, tmp_path, argv, pattern):
    bad = tmp_path / "bad.txt"
    bad.write_text("3 1\n1 9 1\n")
    good = tmp_path / "good.npy"
    np.save(good, np.eye(3))
    argv = [a.format(dir=tmp_path, bad=bad, good=good) for a in argv]
    assert cli.main(argv) == 2
    captured = capsys.readouterr()
    assert pattern in captured.err, captured.err
    assert "Traceback" not in captured.err


def test_console_entry_bad_file_no_traceback(tmp_path):
    bad = tmp_path / "broken.gset"
    bad.write_text("2 1\n1 2 heavy\n")
    proc = subprocess.run(
        [sys.executable, "-m", "sdpsolve.cli", "solve", str(bad)], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 2, proc.stderr
    assert "line 2: the weight must be a number" in proc.stderr and str(bad) in proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stdout == ""


# -- the registry ----
@pytest.fixture
def registry(monkeypatch):
    monkeypatch.setattr(cli, "_COMMANDS", dict(cli._COMMANDS))
    return cli


def test_add_command_and_errors_from_plugins(registry, capsys):
    def build(p):
        p.add_argument("--value", type=float, required=True)

    def run(args):
        if args.value < 0:
            raise ValueError(f"`--value` must be >= 0, got {args.value}")
        print(f"value={args.value}")
        return 0

    registry.add_command("echo-value", "print a value", build, run)
    assert "echo-value" in registry.commands()
    assert registry.main(["echo-value", "--value", "2.5"]) == 0
    assert capsys.readouterr().out.strip() == "value=2.5"
    assert registry.main(["echo-value", "--value", "-1"]) == 2
    assert "sdpsolve echo-value: error: `--value` must be >= 0" in capsys.readouterr().err
    registry.add_command("echo-value", "print a value", build, run)  # same functions again: no-op
    with pytest.raises(ValueError, match="already registered"):
        registry.add_command("echo-value", "other", build, lambda args: 0)
    with pytest.raises(ValueError, match="`name`"):
        registry.add_command("-x", "bad", build, run)
    with pytest.raises(TypeError, match="callable"):
        registry.add_command("x", "bad", build, None)


def test_plugin_loading(registry, monkeypatch, tmp_path, capsys):
    (tmp_path / "sdpsolve_test_plugin_ok.py").write_text(
        textwrap.dedent(
            """
            from sdpsolve.cli import add_command
            add_command("hello", "say hello", lambda p: None, lambda args: print("hello") or 0)
            """
        )
    )
    (tmp_path / "sdpsolve_test_plugin_broken.py").write_text("import sdpsolve_missing_dependency_xyz\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    # an absent plugin module (or package) is skipped
    monkeypatch.setattr(cli, "PLUGIN_MODULES", ("sdpsolve_absent_pkg_xyz.cli", "sdpsolve_test_plugin_ok"))
    assert cli.main(["hello"]) == 0
    assert capsys.readouterr().out.strip() == "hello"
    # a missing dependency *inside* a plugin is an error, not a silent skip
    monkeypatch.setattr(cli, "PLUGIN_MODULES", ("sdpsolve_test_plugin_broken",))
    with pytest.raises(ModuleNotFoundError, match="sdpsolve_missing_dependency_xyz"):
        cli.commands()
