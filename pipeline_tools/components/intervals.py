"""How far a metric measured on a few hundred eval examples can be from the model's true one: 95% intervals.

The Evaluator reports each metric as one number. On 900 eval complaints, 200 of them disputed, an AUC
of 0.60 could well be 0.56 or 0.64 on other complaints like them; on 60 it could be anything. These
closed forms turn what TFMA reports (the metric, the example count, the share of positives) into
intervals at no cost (TFMA's own jackknife intervals multiply the Evaluator's time: measured, see the
README), overall and for every slice:
  - AUC: Hanley and McNeil's standard error (Radiology 143, 1982), from the AUC and the counts of
    positives and negatives;
  - a proportion (accuracy, precision, recall): Wilson's score interval;
  - the change of AUC between two models on the same examples: the two standard errors combined as if
    independent. The models' errors are correlated (same examples), so the true interval is narrower:
    a drop outside this one is a drop beyond any doubt the data leaves.
"""

import math

Z_95 = 1.959963984540054  # The two-sided 95% quantile of the standard normal distribution.


def auc_standard_error(auc: float, positives: int, negatives: int) -> float:
    """Hanley and McNeil (1982): the standard error of an AUC measured on these counts."""
    if positives < 1 or negatives < 1:
        return math.inf
    q1, q2 = auc / (2 - auc), 2 * auc * auc / (1 + auc)
    variance = auc * (1 - auc) + (positives - 1) * (q1 - auc * auc) + (negatives - 1) * (q2 - auc * auc)
    return math.sqrt(max(variance, 0.0) / (positives * negatives))


def auc_interval(auc: float, positives: int, negatives: int, z: float = Z_95) -> tuple[float, float]:
    """The 95% interval of an AUC, clipped to [0, 1]."""
    error = auc_standard_error(auc, positives, negatives)
    return max(0.0, auc - z * error), min(1.0, auc + z * error)


def proportion_interval(successes: float, trials: float, z: float = Z_95) -> tuple[float, float]:
    """Wilson's 95% score interval of a proportion (nan, nan) without trials."""
    if trials <= 0:
        return math.nan, math.nan
    share = successes / trials
    center = (share + z * z / (2 * trials)) / (1 + z * z / trials)
    half = z * math.sqrt(share * (1 - share) / trials + z * z / (4 * trials * trials)) / (1 + z * z / trials)
    return max(0.0, center - half), min(1.0, center + half)


def change_interval(
    auc: float, baseline_auc: float, positives: int, negatives: int, z: float = Z_95
) -> tuple[float, float]:
    """The 95% interval of auc - baseline_auc, both measured on the same examples (see above)."""
    error = math.hypot(
        auc_standard_error(auc, positives, negatives), auc_standard_error(baseline_auc, positives, negatives)
    )
    change = auc - baseline_auc
    return change - z * error, change + z * error
