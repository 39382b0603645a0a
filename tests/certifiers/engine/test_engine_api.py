"""The run engine's plain-Python API: configs, errors naming fields, option declarations, thread limits, verdicts.

Oracles: the command line (a run through :func:`certifiers.engine.run_certify` must store the same records as
``sdpsolve certify`` with the same settings), the plugins' constructor signatures (every declared option is a
parameter, every parameter a run can set is declared), torch's and threadpoolctl's own reports of their threads.
"""

from __future__ import annotations

import inspect

import numpy as np
import pytest

import certifiers
from certifiers import Verdict
from certifiers._plugins import registry
from certifiers.engine import CertifyConfig, CertifyRun, ConfigError, reproducible, run_certify
from sdpsolve import cli, limit_threads
from tests.certifiers.test_cli import _records, files  # noqa: F401  (files: the shared fixture)


@pytest.mark.parametrize("name", sorted(registry()))
def test_declared_options_are_the_constructor_parameters(name):
    """Routing can never pass a keyword a constructor lacks, and no constructor option is left unroutable."""
    cls = registry()[name]
    params = {p for p in inspect.signature(cls).parameters}
    declared = [spec.name for spec in cls.option_specs]
    assert len(declared) == len(set(declared)), f"{name} declares an option twice: {declared}"
    assert set(declared) <= params, f"{name} declares {sorted(set(declared) - params)} but does not take them"
    assert params - set(declared) <= {"rng", "seed"}, f"{name} takes {sorted(params - set(declared))} undeclared"


def test_shared_options_have_one_declaration():
    """An option several plugins take is the same declaration everywhere (one type, one help, one flag)."""
    seen: dict = {}
    for cls in registry().values():
        for spec in cls.option_specs:
            other = seen.setdefault(spec.name, spec)
            assert other == spec, f"{spec.name} is declared twice differently: {other} / {spec}"


def test_python_run_equals_command_line_run(capsys, files, tmp_path):  # noqa: F811
    common = dict(model=files["model"], data=files["data"], eps=0.05, start=2, count=9, seed=4, progress=False)
    out_api, out_cli = tmp_path / "api.jsonl", tmp_path / "cli.jsonl"
    report = run_certify(CertifyConfig(methods=("pgd", "crown,lp"), out=out_api, options={"rtol": 1e-3}, **common))
    assert [r.method for r in report.rows] == ["pgd", "crown", "lp"] and report.n == 9
    code = cli.main(["certify", "--model", str(files["model"]), "--data", str(files["data"]), "--eps", "0.05",
                     "--start", "2", "--count", "9", "--seed", "4", "--method", "pgd", "--method", "crown,lp",
                     "--rtol", "1e-3", "--out", str(out_cli), "--no-progress"])
    assert code == 0, capsys.readouterr().err
    assert reproducible(_records(out_api)[1]) == reproducible(_records(out_cli)[1])
    assert _records(out_api)[0]["config"] == _records(out_cli)[0]["config"]
    # resuming through the API computes nothing and reports the same rows
    again = run_certify(CertifyConfig(methods=("pgd", "crown", "lp"), out=out_api, **common))
    assert again.skipped == 27
    assert [(r.method, r.n, r.errors, r.certify_time) for r in again.rows] == [
        (r.method, r.n, r.errors, r.certify_time) for r in report.rows]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"eps": -1.0}, "eps"),
        ({"eps": float("nan")}, "eps"),
        ({"methods": ("no-such",)}, "method"),
        ({"methods": ()}, "method"),
        ({"options": {"no_such_option": 1}}, "options"),
        ({"options": {"rtol": -1.0}}, "rtol"),
        ({"options": {"bounds": "exact"}}, "bounds"),
        ({"start": 10_000}, "start"),
        ({"count": 0}, "count"),
        ({"workers": 0}, "workers"),
        ({"threads": 0}, "threads"),
        ({"data": "missing.npz"}, "data"),
        ({"model": "missing.npz"}, "model"),
    ],
)
def test_config_errors_name_the_field(files, change, field):  # noqa: F811
    kwargs = dict(model=files["model"], data=files["data"], methods=("ibp",), eps=0.1, progress=False)
    kwargs.update(change)
    with pytest.raises(ConfigError) as info:
        CertifyRun(CertifyConfig(**kwargs))
    assert info.value.field == field, info.value
    assert isinstance(info.value, ValueError) and f"`{field}`" in str(info.value)


def test_unused_options_are_reported_not_passed(files):  # noqa: F811
    run = CertifyRun(CertifyConfig(files["model"], files["data"], ("ibp", "pgd"), 0.1,
                                   options={"rtol": 1e-3, "device": "cpu"}, progress=False))
    assert run.unused == ["rtol"]
    assert {p.name: p.options.get("device") for p in run.plans} == {"ibp": None, "pgd": "cpu"}


def test_limit_threads_restores_torch_and_blas():
    import torch
    from threadpoolctl import threadpool_info

    def blas():
        return sorted(i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas")

    before_torch, before_blas = torch.get_num_threads(), blas()
    with limit_threads(1):
        assert torch.get_num_threads() == 1 and all(n == 1 for n in blas())
    assert (torch.get_num_threads(), blas()) == (before_torch, before_blas)
    with limit_threads(1, blas_only=True):
        assert torch.get_num_threads() == before_torch and all(n == 1 for n in blas())
    with pytest.raises(ValueError, match="threads"):
        with limit_threads(0):
            pass


def test_one_outcome_vocabulary(files):  # noqa: F811
    net, X, y = files["net"], files["X"][:6], files["y"][:6]
    certs = certifiers.get_certifier("crown").certify(net, X, y, 0.0)
    assert [r.verdict for r in certs] == [Verdict.VERIFIED if p == t else Verdict.UNKNOWN
                                           for p, t in zip(net.predict(X), y)]
    attacks = certifiers.get_certifier("fgsm").certify(net, X, y, 0.0)
    assert {r.verdict for r in attacks} <= {Verdict.FALSIFIED, Verdict.UNKNOWN}
    assert [r.verdict is Verdict.FALSIFIED for r in attacks] == list(np.asarray(net.predict(X)) != y)
    status = certifiers.VerificationStatus
    assert [s.verdict for s in status] == [Verdict.FALSIFIED, Verdict.VERIFIED, Verdict.UNKNOWN, Verdict.UNKNOWN]
