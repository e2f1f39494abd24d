"""The statistics in the JSON report: each compared case's (``items[].stats``) and the suite's
(``summary.statistics``), every number behind the statistical gate."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ArmCounts(_Section):
    """One model's samples in one compared case."""

    passes: int
    samples: int
    stage1_passes: int
    stage1_samples: int
    errors: int = 0
    format_failures: int = 0
    live_calls: int = 0
    replayed_calls: int = 0


class CaseStatistics(_Section):
    """A compared case (samples >= 2): counts per model, the exact tests, intervals; the BH q-values and
    ``decided`` come from the session end."""

    k: int
    max_samples: int
    threshold: float | None = None
    baseline: str
    golden_samples: int = 0
    #: Why the current model could not be called for baseline samples the golden lacks (replay-only runs).
    replay_only: str | None = None
    current: ArmCounts
    candidate: ArmCounts
    topped_up: bool
    difference: float | None = None
    difference_ci95: list[float | None] | None = None
    wilson95_current: list[float] | None = None
    wilson95_candidate: list[float] | None = None
    p_regression: float
    p_improvement: float
    family_size: int
    alpha_case: float
    #: "item" when the item's own test decided its verdict, "suite" when Benjamini-Hochberg did at session end.
    decided: str = "item"
    q_regression: float | None = None
    q_improvement: float | None = None
    notes: list[str] = Field(default_factory=list)


class SampleCounts(_Section):
    current: int = 0
    candidate: int = 0


class CallCounts(_Section):
    current_live: int = 0
    candidate_live: int = 0
    replayed: int = 0


class PassRates(_Section):
    """Means of the per-case pass rates (cases weighted equally), all samples."""

    current: float
    candidate: float


class Difference(_Section):
    """Candidate minus current pass rate, per case, averaged: Miller's paired analysis."""

    mean: float
    se: float
    low: float
    high: float
    confidence: float
    r: float | None = None
    se_unpaired: float
    #: Cluster-robust SE (CR1) with the test function as the cluster, when there are two or more.
    se_clustered: float | None = None
    clusters: int = 0


class SuiteTest(_Section):
    method: str = "exact stratified conditional test (multi-table Fisher) on stage-one samples"
    p: float
    alpha: float
    failed: bool
    current_passes: int
    candidate_passes: int
    current_samples: int
    candidate_samples: int
    cmh_z: float


class NonInferiority(_Section):
    margin: float
    lower: float | None = None
    status: str = "inconclusive"
    gating: bool = False


class Resolution(_Section):
    """What the run could detect with the stated power; None where nothing could be."""

    power: float = 0.8
    #: Smallest drop in every case's pass rate the suite test catches.
    diffuse: float | None = None
    #: Highest rate an always-passing case can fall to and still be flagged by its own test.
    localized: float | None = None


class AlphaSplit(_Section):
    """The gate's false-alarm budget and how it is split between the suite test and the per-case tests."""

    alpha: float
    suite: float
    per_case: float


class SuiteStatistics(_Section):
    cases: int
    family_size: int
    k: int
    max_samples: int
    baseline: str
    topped_up: int
    threshold: float | None = None
    #: Cases compared with the golden's samples alone, and why the current model was not called.
    replay_only: int = 0
    replay_only_reason: str | None = None
    samples: SampleCounts
    calls: CallCounts
    pass_rate: PassRates | None = None
    difference: Difference | None = None
    verdicts: dict[str, int] = Field(default_factory=dict)
    suite_test: SuiteTest | None = None
    noninferiority: NonInferiority
    resolution: Resolution
    budget: AlphaSplit
    alpha_case: float
    gate_reasons: list[str] = Field(default_factory=list)
