"""Workflows: what each subcommand does, as Python functions (the command line only parses and prints).

Between the command line (:mod:`certifiers.cli`) and the run engine (:mod:`certifiers.engine`).

Demo (``sdpsolve demo``)
------------------------
run_demo(*, eps, n_certify, n_holdout, ...) -> DemoResult; DEMO_METHODS; format_paper_table(rows, network=...);
train_relu_mlp(X, y, ...)

Training (``sdpsolve train``)
-----------------------------
train(objective, *, hidden, epochs, data, eps, ...) -> TrainResult; OBJECTIVES; load_training_data(data)

Report (``sdpsolve report``)
----------------------------
load_results(paths) -> LoadedResults; summarize(records) -> [SummaryRow]; format_table(rows, markdown=False);
plot_results(records, out_dir); plot_method_errors(records, path); PLOT_FILES

Verify (``sdpsolve verify``)
----------------------------
run_verify(config) -> (CertifyReport, VerdictSummary); summarize_verdicts(records); format_verdicts(summary)

VNN-LIB (``sdpsolve vnnlib``)
-----------------------------
verify_vnnlib(network, spec, *, timeout, methods, ...) -> VerificationResult; VerificationStatus; VERIFY_METHODS
"""

from __future__ import annotations

from ._demo import DEMO_METHODS, DEMO_OPTIONS, DemoResult, format_paper_table, run_demo, train_relu_mlp
from ._report import PLOT_FILES, LoadedResults, format_table, load_results, plot_method_errors, plot_results, summarize
from ._train import OBJECTIVES, TrainResult, load_training_data, train
from ._verify_run import VerdictSummary, format_verdicts, run_verify, summarize_verdicts
from ._vnnlib_verify import VERIFY_METHODS, StageRecord, VerificationResult, VerificationStatus, verify_vnnlib

__all__ = [
    "run_demo", "DemoResult", "DEMO_METHODS", "DEMO_OPTIONS", "format_paper_table", "train_relu_mlp",
    "train", "TrainResult", "OBJECTIVES", "load_training_data",
    "load_results", "LoadedResults", "summarize", "format_table", "plot_results", "plot_method_errors", "PLOT_FILES",
    "run_verify", "VerdictSummary", "summarize_verdicts", "format_verdicts",
    "verify_vnnlib", "VerificationResult", "VerificationStatus", "StageRecord", "VERIFY_METHODS",
]
