"""The one outcome vocabulary: what is known about an input once a method has run.

:class:`Verdict` is the word every part of ``certifiers`` uses for an outcome: ``verified`` (every target's
bound is < 0 and proved), ``falsified`` (an input of the set is classified differently, checked by a float64
forward pass), ``unknown`` (neither). A certifier's record (``certified: true``) is a verified input; an
attack's record (``adversarial: true``) a falsified one; VNN-COMP spells the same outcomes ``unsat`` / ``sat``
(:class:`certifiers.VerificationStatus`, whose ``verdict`` gives this word); the solver's early ``decision``
(``"below"`` / ``"above"`` a threshold) is the solver's statement about one relaxation's optimum, not an
outcome: "below" 0 proves one target, "above" only says that relaxation cannot (its primal point is no input).

Examples
--------
>>> verdict_of_record({"certified": True}), verdict_of_record({"adversarial": True}), verdict_of_record({})
(<Verdict.VERIFIED: 'verified'>, <Verdict.FALSIFIED: 'falsified'>, <Verdict.UNKNOWN: 'unknown'>)
"""

from __future__ import annotations

import enum


class Verdict(enum.Enum):
    """What is known about one input (every target class at once)."""

    VERIFIED = "verified"
    FALSIFIED = "falsified"
    UNKNOWN = "unknown"

    @property
    def sentence(self) -> str:
        return {
            "verified": "robust: every target's bound is proved < 0",
            "falsified": "not robust: an input of the set is classified differently (a checked witness)",
            "unknown": "undecided: no proof and no witness",
        }[self.value]


def verdict_of_record(record: dict) -> Verdict:
    """The verdict a JSON record (:meth:`certifiers.ExampleResult.to_json`) states."""
    if record.get("certified"):
        return Verdict.VERIFIED
    if record.get("adversarial"):
        return Verdict.FALSIFIED
    return Verdict.UNKNOWN

