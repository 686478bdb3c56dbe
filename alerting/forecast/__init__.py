"""Reproduction number, renewal-equation projections and care-burden forecasts (pure numpy/scipy)."""
from __future__ import annotations

from alerting.forecast.burden import BurdenRatios, DistrictBurden, burden_frame, district_burden, project_burden
from alerting.forecast.projection import Projection, project_cases, project_from_rt
from alerting.forecast.rt import RtInputError, RtResult, discr_si, estimate_r

__all__ = [
    "BurdenRatios",
    "DistrictBurden",
    "Projection",
    "RtInputError",
    "RtResult",
    "burden_frame",
    "discr_si",
    "district_burden",
    "estimate_r",
    "project_burden",
    "project_cases",
    "project_from_rt",
]
