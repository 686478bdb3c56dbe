"""Pure numpy/scipy outbreak detectors: fixed threshold, moving percentile, EARS, CUSUM/EWMA, Farrington flexible, space-time scan."""
from __future__ import annotations

from alerting.detectors.base import DetectionResult, DetectorInputError
from alerting.detectors.cusum import cusum, cusum_r, ewma
from alerting.detectors.ears import ears_c, ears_c1, ears_c2, ears_c3
from alerting.detectors.farrington import farrington_flexible
from alerting.detectors.moving_percentile import moving_percentile
from alerting.detectors.scan import ScanCluster, ScanResult, space_time_permutation_scan
from alerting.detectors.threshold import (
    SINGLE_CASE_DISEASES,
    CountRule,
    count_threshold,
    fixed_threshold,
    is_single_case_disease,
    single_case,
)

__all__ = [
    "SINGLE_CASE_DISEASES",
    "CountRule",
    "DetectionResult",
    "DetectorInputError",
    "ScanCluster",
    "ScanResult",
    "count_threshold",
    "cusum",
    "cusum_r",
    "ears_c",
    "ears_c1",
    "ears_c2",
    "ears_c3",
    "ewma",
    "farrington_flexible",
    "fixed_threshold",
    "is_single_case_disease",
    "moving_percentile",
    "single_case",
    "space_time_permutation_scan",
]
