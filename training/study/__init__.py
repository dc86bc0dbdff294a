"""The scaling study's arithmetic: parameter and FLOP counts, and the scaling-law fits.

Pure functions of configs and result numbers; the study runner and report call them.
"""

from pycodesmall.training.study.flops import FlopsPerToken, ParameterCount, count_parameters, training_flops_per_token
from pycodesmall.training.study.fits import (
    MIN_SIZES, PARAMETER_COUNTS, Estimate, FitError, LossPoint, LossSurfaceFit, PowerLawFit, PurePowerLawFit,
    fit_loss_surface, fit_power_law, fit_pure_power_law, point_arrays,
)
from pycodesmall.training.study.isoflop import IsoflopFit, IsoflopMinimum, fit_isoflop, isoflop_curve, isoflop_minima

__all__ = [
    "ParameterCount", "FlopsPerToken", "count_parameters", "training_flops_per_token",
    "MIN_SIZES", "PARAMETER_COUNTS", "Estimate", "FitError", "LossPoint", "point_arrays",
    "PowerLawFit", "fit_power_law", "PurePowerLawFit", "fit_pure_power_law", "LossSurfaceFit", "fit_loss_surface",
    "IsoflopMinimum", "IsoflopFit", "isoflop_minima", "isoflop_curve", "fit_isoflop",
]
