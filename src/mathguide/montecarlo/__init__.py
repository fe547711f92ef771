"""Monte-Carlo estimation: KL-divergence estimators and importance sampling (book part "Monte Carlo")."""

__all__: list[str] = []

# KL-divergence estimators (chapters/montecarlo/kl-estimators.md).
from mathguide.montecarlo.kl import (
    EstimatorStats,
    KLExperiment,
    bregman_estimator,
    estimator_bias_std,
    k1,
    k2,
    k3,
    k_lambda,
    k_reverse,
    kl_gaussian,
    optimal_lambda,
)

__all__ += [
    "EstimatorStats",
    "KLExperiment",
    "bregman_estimator",
    "estimator_bias_std",
    "k1",
    "k2",
    "k3",
    "k_lambda",
    "k_reverse",
    "kl_gaussian",
    "optimal_lambda",
]

# Importance sampling (chapters/montecarlo/importance-sampling.md).
from mathguide.montecarlo.importance import (
    ImportanceSamplingResult,
    effective_sample_size,
    estimate_from_log_weights,
    exponential_tail_rate,
    exponential_tail_second_moment,
    importance_sampling,
    normal_tail_probability,
    self_normalized_importance_sampling,
)

__all__ += [
    "ImportanceSamplingResult",
    "effective_sample_size",
    "estimate_from_log_weights",
    "exponential_tail_rate",
    "exponential_tail_second_moment",
    "importance_sampling",
    "normal_tail_probability",
    "self_normalized_importance_sampling",
]
