"""Quasi-Poisson log-linear GLM fitted step for step as R's ``glm.fit`` (for R-exact detectors).

R's IRLS: start at ``mu = y + 0.1``, weighted least squares on the working response, stop when
``|dev - dev_old| / (|dev| + 0.1) < 1e-8`` (at most 25 iterations). What R returns mixes two
iterations and this module keeps that: ``mu`` is the last update, while the working weights, the
QR (hat values, covariance) come from the start of the last iteration. Copying it matters for
agreement to 1e-6, because convergence of the deviance to 1e-8 leaves the coefficients ~1e-5 apart.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

EPS = float(np.finfo(float).eps)
MAXIT = 25
EPSILON = 1e-8


@dataclass(frozen=True)
class GlmFit:
    """What farringtonFlexible reads of R's glm object."""

    coef: np.ndarray
    mu: np.ndarray  # fitted values (after the last update)
    work_weights: np.ndarray  # R's model$weights: prior weight × mu of the last iteration's start
    residuals: np.ndarray  # working residuals (y - mu) / mu
    r_inv: np.ndarray  # inverse of the R factor of sqrt(W) X (last iteration)
    hat: np.ndarray
    df_residual: int
    converged: bool

    def dispersion(self, weights: np.ndarray | None = None) -> float:
        """summary.glm's quasi dispersion: sum(w · r²) over w > 0 / df (w defaults to model$weights)."""
        w = self.work_weights if weights is None else weights
        if self.df_residual <= 0:
            return float("nan")
        keep = w > 0
        return float(np.sum((w * self.residuals**2)[keep]) / self.df_residual)

    def unscaled_var(self, x0: np.ndarray) -> float:
        """x0' (X'WX)⁻¹ x0 from the QR, as predict.lm forms it."""
        v = x0 @ self.r_inv
        return float(v @ v)

    def p_value(self, j: int, dispersion: float) -> float:
        """summary.glm's two-sided t-test p-value of coefficient ``j`` (dispersion estimated)."""
        cov = self.r_inv @ self.r_inv.T
        se = np.sqrt(cov[j, j] * dispersion)
        return float(2.0 * stats.t.sf(abs(self.coef[j] / se), self.df_residual))


def _linkinv(eta: np.ndarray) -> np.ndarray:
    mu: np.ndarray = np.maximum(np.exp(eta), EPS)
    return mu


def _deviance(y: np.ndarray, mu: np.ndarray, wt: np.ndarray) -> float:
    r = mu * wt
    pos = y > 0
    r[pos] = (wt * (y * np.log(np.where(pos, y, 1.0) / mu) - (y - mu)))[pos]
    return float(np.sum(2.0 * r))


def _failed(x: np.ndarray, y: np.ndarray) -> GlmFit:
    n, p = x.shape
    nan = np.full(n, np.nan)
    return GlmFit(np.full(p, np.nan), nan, nan, nan, np.full((p, p), np.nan), nan, n - p, False)


def fit_quasipoisson(x: np.ndarray, y: np.ndarray, weights: np.ndarray | None = None) -> GlmFit:
    """Fit ``log E[y] = x β`` by R's IRLS; ``x`` is the full-rank model matrix (intercept included)."""
    n, p = x.shape
    prior = np.ones(n) if weights is None else np.asarray(weights, dtype=float)
    eta = np.log(y + 0.1)
    mu = _linkinv(eta)
    dev_old = _deviance(y, mu, prior)
    converged = False
    for _ in range(MAXIT):
        mu_eta = np.maximum(np.exp(eta), EPS)
        good = (prior > 0) & (mu_eta != 0)
        z = eta[good] + (y - mu)[good] / mu_eta[good]
        w = np.sqrt(prior[good] * mu_eta[good] ** 2 / mu[good])
        q, r = np.linalg.qr(x[good] * w[:, None])
        if np.linalg.matrix_rank(r) < p:  # R would pivot a column out; we report no fit
            return _failed(x, y)
        beta = np.linalg.solve(r, q.T @ (z * w))
        eta = x @ beta
        mu = _linkinv(eta)
        dev = _deviance(y, mu, prior)
        if abs(dev - dev_old) / (abs(dev) + 0.1) < EPSILON:
            converged = True
            break
        dev_old = dev
    work = np.zeros(n)
    work[good] = w**2
    hat = np.zeros(n)
    hat[good] = np.minimum(np.sum(q**2, axis=1), 1.0)
    hat[hat >= 1 - 10 * EPS] = 1.0
    n_ok = n - int(np.sum(prior == 0))
    return GlmFit(
        coef=beta,
        mu=mu,
        work_weights=work,
        residuals=(y - mu) / np.maximum(np.exp(eta), EPS),
        r_inv=np.linalg.inv(r),
        hat=hat,
        df_residual=n_ok - p,
        converged=converged,
    )
