"""Error metrics for surrogate rollouts, per sample and frame.

Every input is one variable in physical units, shaped ``(..., y, x)`` on a periodic grid (square or not; the spectral metrics take the domain lengths)
(typically ``(sample, time, y, x)``). Only the last two axes are reduced, so a per-frame metric
returns the leading shape ``(...)``. Everything is computed and returned in float64: errors of a
good surrogate are small differences of large fields, and float32 would round them away.
"""

from __future__ import annotations

import math

import torch

from data_gen.grid import PeriodicGrid, rfft_weights
from data_gen.spectral import isotropic_spectrum, velocity_symbols

GRID = (-2, -1)

# Radial-wavenumber bands as fractions (lower, upper] of the Nyquist wavenumber k_N = N/2:
# low 0 < |k| ≤ k_N/4, mid k_N/4 < |k| ≤ k_N/2, high |k| > k_N/2 (the corners |k| > k_N included).
DEFAULT_BANDS: dict[str, tuple[float, float]] = {
    "low": (0.0, 0.25),
    "mid": (0.25, 0.5),
    "high": (0.5, math.inf),
}


def _pair(prediction: torch.Tensor, truth: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    if prediction.shape != truth.shape:
        raise ValueError(
            f"prediction and truth must have the same shape, got {tuple(prediction.shape)} "
            f"and {tuple(truth.shape)}"
        )
    if prediction.ndim < 2:
        raise ValueError(f"fields must be shaped (..., y, x), got shape {tuple(prediction.shape)}")
    return prediction.to(torch.float64), truth.to(torch.float64)


def _square(field: torch.Tensor, name: str) -> int:
    if field.ndim < 2 or field.shape[-1] != field.shape[-2]:
        raise ValueError(f"{name} must be shaped (..., n, n) on a square grid, got {tuple(field.shape)}")
    return field.shape[-1]


def _check_bands(bands: dict[str, tuple[float, float]]) -> None:
    for name, (lower, upper) in bands.items():
        if not 0 <= lower < upper:
            raise ValueError(f"band '{name}' must satisfy 0 <= lower < upper, got ({lower}, {upper})")


# --- pointwise errors ------------------------------------------------------------------------------


def relative_l2(prediction: torch.Tensor, truth: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """``‖p − t‖₂ / (‖t‖₂ + eps)`` over the grid of each frame (the FNO papers' metric)."""
    p, t = _pair(prediction, truth)
    return torch.linalg.vector_norm(p - t, dim=GRID) / (torch.linalg.vector_norm(t, dim=GRID) + eps)


def rmse(prediction: torch.Tensor, truth: torch.Tensor) -> torch.Tensor:
    """``sqrt(mean_xy (p − t)²)``."""
    p, t = _pair(prediction, truth)
    return (p - t).square().mean(dim=GRID).sqrt()


def nrmse(prediction: torch.Tensor, truth: torch.Tensor, scale: float) -> torch.Tensor:
    """``rmse(p, t) / scale`` with a fixed ``scale > 0`` per variable.

    The caller passes the training split's standard deviation of the variable (``stats.json``):
    a fixed scale, unlike ``‖t‖``, does not inflate the error of a field that decays towards zero.
    """
    scale = float(scale)
    if not (scale > 0 and math.isfinite(scale)):
        raise ValueError(f"scale must be a finite number > 0, got {scale}")
    return rmse(prediction, truth) / scale


def vrmse(prediction: torch.Tensor, truth: torch.Tensor, eps: float = 1e-7) -> torch.Tensor:
    """``sqrt(mean_xy (p − t)² / (var_xy(t) + eps))``, with the population variance of each frame.

    Predicting each frame's spatial mean scores exactly 1 (when ``eps = 0``), so values above 1 are
    worse than that trivial guess. A constant truth frame scores ``sqrt(mse / eps)``.
    """
    p, t = _pair(prediction, truth)
    mse = (p - t).square().mean(dim=GRID)
    variance = (t - t.mean(dim=GRID, keepdim=True)).square().mean(dim=GRID)
    return (mse / (variance + eps)).sqrt()


def max_error(prediction: torch.Tensor, truth: torch.Tensor) -> torch.Tensor:
    """``max_xy |p − t|``."""
    p, t = _pair(prediction, truth)
    return (p - t).abs().amax(dim=GRID)


# --- spectral errors -------------------------------------------------------------------------------


def _radius_squared(shape: tuple[int, int], domain_lengths: tuple[float, float] | None, device) -> tuple[torch.Tensor, float]:
    """``|k|²`` of every mode of the full ``fft2`` and the band scale ``k_N``, in units of ``(2π/L_x)``.

    Physical wavenumbers are ``k = 2π (m_x/L_x, m_y/L_y)`` for integer ``m``; in units of the x
    fundamental ``2π/L_x`` that is ``(m_x, m_y·L_x/L_y)``, exact integers on a square box (so modes
    on a band edge are binned exactly). ``k_N = min(N_x/L_x, N_y/L_y)·π``: the largest radius
    resolved along both axes, ``N/2`` on a square grid. ``domain_lengths`` is ``(L_y, L_x)``;
    ``None`` means equal spacing along both axes (``L = N`` per axis).
    """
    ny, nx = shape
    ly, lx = domain_lengths if domain_lengths is not None else (float(ny), float(nx))
    scale = lx / ly
    my = torch.fft.fftfreq(ny, d=1.0 / ny, dtype=torch.float64, device=device) * scale
    mx = torch.fft.fftfreq(nx, d=1.0 / nx, dtype=torch.float64, device=device)
    if ny == nx and scale == 1.0:
        my = mx
    return my.reshape(-1, 1) ** 2 + mx.reshape(1, -1) ** 2, min(nx, ny * scale) / 2


def band_scale(shape: tuple[int, int], domain_lengths: tuple[float, float]) -> float:
    """``k_N = π·min(N_x/L_x, N_y/L_y)`` in physical units (radians per unit length): the band edges
    of :func:`spectral_band_errors` are fractions of it (``πN/L`` on a square grid)."""
    (ny, nx), (ly, lx) = shape, domain_lengths
    return math.pi * min(nx / lx, ny / ly)


def spectral_band_errors(
    prediction: torch.Tensor, truth: torch.Tensor, bands: dict[str, tuple[float, float]] = DEFAULT_BANDS,
    domain_lengths: tuple[float, float] | None = None,
) -> dict[str, torch.Tensor]:
    """RMSE of ``e = p − t`` restricted to radial-wavenumber bands of the whole 2-D spectrum.

    With ``ê = fft2(e) / (N_y N_x)`` (so that ``e = Σ_k ê_k exp(i k·x)``), physical wavenumbers
    ``k = 2π (m_x/L_x, m_y/L_y)`` for integer ``m_x ∈ [−N_x/2, N_x/2)``, ``m_y`` likewise, and
    ``k_N = π·min(N_x/L_x, N_y/L_y)`` (the Nyquist wavenumber of the coarser axis; ``πN/L`` on a
    square grid, i.e. integer wavenumber ``N/2``):

        band error = sqrt( Σ_{a·k_N < |k| ≤ b·k_N} |ê_k|² )

    for each band ``name: (a, b)`` (default :data:`DEFAULT_BANDS`). ``domain_lengths = (L_y, L_x)``
    (default: equal grid spacing along both axes). By Parseval, ``Σ_band error² + |ê_0|² =
    mean_xy e²`` whenever the bands partition ``(0, ∞)``, as the default ones do; ``ê_0`` is the
    error of the spatial mean. All four quadrants of the spectrum count. Returns ``{name: (...)}``.
    """
    _check_bands(bands)
    p, t = _pair(prediction, truth)
    # The full fft2 rather than rfft2: every k appears once, so no column needs doubling.
    power = torch.fft.fft2(p - t, norm="forward").abs().square()
    radius_squared, nyquist = _radius_squared(tuple(p.shape[-2:]), domain_lengths, p.device)
    errors = {}
    for name, (lower, upper) in bands.items():
        # Compare squares: on a square box |k|² is an exact integer, so edge modes are binned exactly.
        inside = (radius_squared > (lower * nyquist) ** 2) & (radius_squared <= (upper * nyquist) ** 2)
        errors[name] = (power * inside).sum(dim=GRID).sqrt()
    return errors


def mean_error(prediction: torch.Tensor, truth: torch.Tensor) -> torch.Tensor:
    """``|mean_xy (p − t)|``: the k = 0 part that :func:`spectral_band_errors` leaves out."""
    p, t = _pair(prediction, truth)
    return (p - t).mean(dim=GRID).abs()


def shell_spectrum(field: torch.Tensor, domain_lengths: tuple[float, float] | None = None
                   ) -> tuple[torch.Tensor, torch.Tensor, float]:
    """Shell-summed power ``E_j = ½ Σ_{(j−½)Δ < |k| ≤ (j+½)Δ} |f̂_k|²`` and the band scale ``k_N``.

    In units of ``2π/L_x``; the shell width ``Δ`` is the smaller of the two fundamentals
    (``min(1, L_x/L_y)``), so no mode but the mean falls into shell 0; modes beyond ``k_N`` (the
    corners, and the longer axis' high wavenumbers) go to the last shell. On a square grid this is
    :func:`data_gen.spectral.isotropic_spectrum` (integer shells ``0 … N/2``). Returns
    ``(shell wavenumbers j·Δ, E, k_N)``.
    """
    ny, nx = field.shape[-2:]
    radius_squared, nyquist = _radius_squared((ny, nx), domain_lengths, field.device)
    ly, lx = domain_lengths if domain_lengths is not None else (float(ny), float(nx))
    width = min(1.0, lx / ly)
    last = int(math.floor(nyquist / width + 1e-9))
    shell = (radius_squared.sqrt() / width).round().long().clamp(max=last)
    power = 0.5 * torch.fft.fft2(field, norm="forward").abs().square()
    flat = power.reshape(*power.shape[:-2], -1)
    spectrum = torch.zeros(*power.shape[:-2], last + 1, dtype=power.dtype, device=power.device)
    spectrum.index_add_(-1, shell.reshape(-1), flat)
    return torch.arange(last + 1, dtype=torch.float64, device=field.device) * width, spectrum, nyquist


def spectrum_log_ratio(
    prediction: torch.Tensor, truth: torch.Tensor, bands: dict[str, tuple[float, float]] = DEFAULT_BANDS,
    domain_lengths: tuple[float, float] | None = None,
) -> dict[str, torch.Tensor]:
    """``log(E_p,band / E_t,band)`` per band, ``E_band = Σ_{a·k_N < k_j ≤ b·k_N} E_j``.

    ``E_j`` is :func:`shell_spectrum`'s shell spectrum (on a square grid: shell ``k`` holds
    ``k − ½ < |k| ≤ k + ½`` in integer wavenumbers, corners beyond ``N/2`` in the last shell), so
    the band edges apply to shell wavenumbers, with ``k_N`` as in :func:`spectral_band_errors`.
    0 when the spectra agree; ``log 4`` when the prediction has twice the amplitude; negative when
    the prediction is too smooth. A band without energy in the truth gives ``inf`` (``nan`` if
    the prediction has none either).
    """
    _check_bands(bands)
    p, t = _pair(prediction, truth)
    shells, predicted, nyquist = shell_spectrum(p, domain_lengths)
    _, true, _ = shell_spectrum(t, domain_lengths)
    ratios = {}
    for name, (lower, upper) in bands.items():
        inside = ((shells > lower * nyquist) & (shells <= upper * nyquist)).to(torch.float64)
        ratios[name] = torch.log((predicted * inside).sum(-1) / (true * inside).sum(-1))
    return ratios


# --- correlation -----------------------------------------------------------------------------------


def pearson_correlation(prediction: torch.Tensor, truth: torch.Tensor) -> torch.Tensor:
    """``Σ p' t' / sqrt(Σ p'² Σ t'²)`` over the grid, ``p' = p − mean_xy p`` (likewise ``t'``).

    ``nan`` for a spatially constant frame, whose correlation is undefined.
    """
    p, t = _pair(prediction, truth)
    p = p - p.mean(dim=GRID, keepdim=True)
    t = t - t.mean(dim=GRID, keepdim=True)
    return (p * t).sum(dim=GRID) / ((p.square().sum(dim=GRID) * t.square().sum(dim=GRID)).sqrt())


def correlation_time(correlation: torch.Tensor, times: torch.Tensor, threshold: float) -> torch.Tensor:
    """The first time at which the correlation falls strictly below ``threshold``.

    ``correlation`` is ``(..., time)`` (e.g. from :func:`pearson_correlation`), ``times`` the
    ``(time,)`` physical times of those frames. Returns ``(...)``: ``times[j]`` for the first
    ``j`` with ``correlation[..., j] < threshold``, ``inf`` if that never happens within the
    horizon (a lower bound, not a measurement). ``nan`` correlations never count as a crossing.
    """
    times = torch.as_tensor(times, dtype=torch.float64, device=correlation.device)
    if times.ndim != 1 or correlation.ndim < 1 or correlation.shape[-1] != times.shape[0]:
        raise ValueError(
            f"correlation must be (..., time) and times (time,), got {tuple(correlation.shape)} "
            f"and {tuple(times.shape)}"
        )
    below = correlation < threshold
    # argmax returns the first True; rows without one are sent to inf below.
    first = below.to(torch.uint8).argmax(dim=-1)
    return torch.where(below.any(dim=-1), times[first], torch.full_like(times[first], math.inf))


# --- invariants ------------------------------------------------------------------------------------


def navier_stokes_energy(vorticity: torch.Tensor, domain_length: float) -> torch.Tensor:
    """Kinetic energy per unit area ``½ mean_xy |u|²`` of 2-D incompressible flow.

    ``u = (∂ψ/∂y, −∂ψ/∂x)`` with ``∇²ψ = −ω`` on the periodic square of side ``domain_length``
    (the solvers' convention, :func:`data_gen.spectral.velocity_symbols`); the mean of ``ω``
    carries no velocity and is ignored. Summed in Fourier space by Parseval, so exact for the
    band-limited field the grid represents: ``½ Σ_k |ω̂_k|² / |2πk/L|²``.
    """
    n = _square(vorticity, "vorticity")
    grid = PeriodicGrid(n, float(domain_length), device=vorticity.device)
    coeffs = torch.fft.rfft2(vorticity.to(torch.float64), norm="forward")
    velocity = velocity_symbols(grid) * coeffs.unsqueeze(-3)  # (..., 2, n, n//2+1): û, v̂
    # rfft2 stores one of each ±kx pair; the weights count the other half of the spectrum.
    power = velocity.abs().square().sum(-3) * rfft_weights(n, torch.float64, vorticity.device)
    return 0.5 * power.sum(dim=GRID)


def enstrophy(vorticity: torch.Tensor) -> torch.Tensor:
    """``½ mean_xy ω²``."""
    return 0.5 * vorticity.to(torch.float64).square().mean(dim=GRID)


def shallow_water_energy(height: torch.Tensor, u: torch.Tensor, v: torch.Tensor, gravity: float) -> torch.Tensor:
    """``mean_xy (½ h (u² + v²) + ½ g h²)`` per unit area, from the saved cell-centred fields.

    Not the solver's own ``ShallowWater.energy``: that one reads the staggered solver state
    and subtracts the mean depth, whereas a surrogate predicts the collocated output variables.
    """
    h, u = _pair(height, u)
    _, v = _pair(height, v)
    return (0.5 * h * (u.square() + v.square()) + 0.5 * gravity * h.square()).mean(dim=GRID)


def potential_enstrophy(height: torch.Tensor, vorticity: torch.Tensor, coriolis: float | torch.Tensor) -> torch.Tensor:
    """``mean_xy ½ (ζ + f)² / h`` per unit area (``= ½ h q²`` with potential vorticity ``q``).

    ``coriolis`` is a number or a tensor broadcastable against the fields (per sample:
    ``(sample, 1, 1, 1)``).
    """
    h, zeta = _pair(height, vorticity)
    f = torch.as_tensor(coriolis, dtype=torch.float64, device=h.device)
    return (0.5 * (zeta + f).square() / h).mean(dim=GRID)


def relative_drift(predicted_quantity: torch.Tensor, true_quantity: torch.Tensor) -> torch.Tensor:
    """``(Q_p − Q_t) / |Q_t|``: signed, so a surrogate that loses energy shows a negative drift."""
    if predicted_quantity.shape != true_quantity.shape:
        raise ValueError(
            f"predicted and true quantities must have the same shape, got {tuple(predicted_quantity.shape)} "
            f"and {tuple(true_quantity.shape)}"
        )
    q_p, q_t = predicted_quantity.to(torch.float64), true_quantity.to(torch.float64)
    return (q_p - q_t) / q_t.abs()


# --- ensembles ----------------------------------------------------------------------------------
# An ensemble is a tensor ``(member, ..., y, x)`` of M rollouts of the same sample; the truth is
# ``(..., y, x)``. Grid points are scored one by one and the score averaged over the grid of each
# frame, so every function below returns the leading shape ``(...)``.


def _ensemble(members: torch.Tensor, truth: torch.Tensor, minimum: int = 2) -> tuple[torch.Tensor, torch.Tensor]:
    if members.ndim < 3 or members.shape[1:] != truth.shape:
        raise ValueError(f"members must be shaped (member, *truth.shape) with truth (..., y, x), got "
                         f"{tuple(members.shape)} and {tuple(truth.shape)}")
    if members.shape[0] < minimum:
        raise ValueError(f"an ensemble needs at least {minimum} members, got {members.shape[0]}")
    return members.to(torch.float64), truth.to(torch.float64)


def ensemble_spread(members: torch.Tensor) -> torch.Tensor:
    """``sqrt(mean_xy s²)``, ``s² = Σ_m (x_m − x̄)² / (M − 1)`` the unbiased ensemble variance per point."""
    x = members.to(torch.float64)
    return x.var(dim=0, correction=1).mean(dim=GRID).sqrt()


def crps_ensemble(members: torch.Tensor, truth: torch.Tensor) -> torch.Tensor:
    """The unbiased ("fair") ensemble CRPS, averaged over the grid:

        CRPS = (1/M) Σ_m |x_m − y| − 1/(2 M (M − 1)) Σ_m Σ_m' |x_m − x_m'|

    Its expectation over the members equals the CRPS of the distribution they are drawn from,
    whatever M (the plain estimator, with 1/(2M²), favours small ensembles). For members drawn from
    N(μ, σ²) its expectation is the closed form ``σ [z (2Φ(z) − 1) + 2φ(z) − 1/√π]``, z = (y − μ)/σ.
    Units of the field; 0 for a perfect, spread-free forecast. The pair sum is
    ``2 Σ_i (2i − M − 1) x_(i)`` over the sorted members (i = 1 … M), which costs M log M, not M².
    """
    x, y = _ensemble(members, truth)
    m = x.shape[0]
    skill = (x - y).abs().mean(dim=0)
    ordered = x.sort(dim=0).values
    weights = (2 * torch.arange(1, m + 1, dtype=torch.float64, device=x.device) - m - 1).reshape(-1, *[1] * y.ndim)
    pairs = 2 * (weights * ordered).sum(dim=0)
    return (skill - pairs / (2 * m * (m - 1))).mean(dim=GRID)


def gaussian_nll(members: torch.Tensor, truth: torch.Tensor, floor: float = 1e-12) -> torch.Tensor:
    """Negative log-likelihood of the truth under N(x̄, s²) per point, averaged over the grid:

        NLL = ½ log(2π s²) + (y − x̄)² / (2 s²),   s² = max(unbiased ensemble variance, ``floor``)

    In nats, for the field's units (it shifts by log c when the field is scaled by c); lower is
    better; a confident wrong forecast (small s, large error) is punished quadratically.
    """
    x, y = _ensemble(members, truth)
    variance = x.var(dim=0, correction=1).clamp(min=floor)
    return (0.5 * torch.log(2 * math.pi * variance) + (y - x.mean(dim=0)).square() / (2 * variance)).mean(dim=GRID)


def student_t_quantile(probability: float, dof: float) -> float:
    """The ``probability`` quantile of Student's t with ``dof`` degrees of freedom (SciPy's; torch
    has none). The one quantile of the package: ensemble intervals and intervals over seeds."""
    from scipy.stats import t

    if not (0.0 < probability < 1.0 and dof > 0):
        raise ValueError(f"need 0 < probability < 1 and dof > 0, got probability = {probability}, dof = {dof}")
    return float(t.ppf(probability, dof))


def interval_coverage(members: torch.Tensor, truth: torch.Tensor, level: float) -> torch.Tensor:
    """Fraction of grid points whose true value lies in the central ``level`` prediction interval

        x̄ ± t_{M−1, (1+level)/2} · s · sqrt(1 + 1/M)

    the interval that holds a new draw with probability ``level`` when the truth and the M members
    are independent draws of one Gaussian (a perfectly calibrated ensemble): then
    ``(y − x̄) / (s sqrt(1 + 1/M))`` follows Student's t with M − 1 degrees of freedom, so the
    expected coverage equals ``level`` exactly, for any M ≥ 2. Below ``level``: overconfident.
    """
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    x, y = _ensemble(members, truth)
    m = x.shape[0]
    half_width = student_t_quantile((1 + level) / 2, m - 1) * x.std(dim=0, correction=1) * math.sqrt(1 + 1 / m)
    return ((y - x.mean(dim=0)).abs() <= half_width).to(torch.float64).mean(dim=GRID)


def spread_skill_ratio(members: torch.Tensor, truth: torch.Tensor) -> torch.Tensor:
    """``sqrt((M + 1)/M) · spread / rmse(x̄, y)`` with :func:`ensemble_spread`.

    For a perfectly calibrated ensemble the expected squared error of the mean is (1 + 1/M) times
    the expected ensemble variance, so the ratio is 1 in expectation over many samples (Fortin et
    al. 2014); below 1: overconfident, above: underconfident. Per sample and frame it is noisy:
    aggregate as ``sqrt(mean spread²) / sqrt(mean rmse²)``, not as a mean of ratios.
    """
    x, y = _ensemble(members, truth)
    m = x.shape[0]
    return math.sqrt((m + 1) / m) * ensemble_spread(x) / rmse(x.mean(dim=0), y)


def spearman_correlation(a: torch.Tensor, b: torch.Tensor) -> float:
    """Spearman's rank correlation of two 1-D samples: Pearson's correlation of their ranks (ties
    given their mean rank). Applied to each sample's predicted spread and actual error, it says how
    well the uncertainty ranks the trajectories that went wrong (1: perfectly; 0: not at all)."""
    a, b = torch.as_tensor(a, dtype=torch.float64).flatten(), torch.as_tensor(b, dtype=torch.float64).flatten()
    if a.shape != b.shape or a.numel() < 2:
        raise ValueError(f"need two 1-D samples of the same length >= 2, got {tuple(a.shape)} and {tuple(b.shape)}")

    def ranks(v: torch.Tensor) -> torch.Tensor:
        order = v.argsort()
        rank = torch.empty_like(v)
        rank[order] = torch.arange(1, v.numel() + 1, dtype=torch.float64)
        for value in v.unique():  # ties share the mean of their ranks
            tied = v == value
            rank[tied] = rank[tied].mean()
        return rank

    ra, rb = ranks(a) - (a.numel() + 1) / 2, ranks(b) - (b.numel() + 1) / 2
    return float((ra * rb).sum() / (ra.square().sum() * rb.square().sum()).sqrt())


# Per-frame metrics by the names they carry in result tables. nrmse is absent: it needs a scale.
FRAME_METRICS = {
    "rel_l2": relative_l2,
    "rmse": rmse,
    "vrmse": vrmse,
    "max_error": max_error,
    "correlation": pearson_correlation,
}

__all__ = [
    "DEFAULT_BANDS",
    "FRAME_METRICS",
    "correlation_time",
    "crps_ensemble",
    "ensemble_spread",
    "enstrophy",
    "gaussian_nll",
    "interval_coverage",
    "isotropic_spectrum",
    "max_error",
    "mean_error",
    "navier_stokes_energy",
    "nrmse",
    "pearson_correlation",
    "potential_enstrophy",
    "relative_drift",
    "relative_l2",
    "rmse",
    "shallow_water_energy",
    "spearman_correlation",
    "spectral_band_errors",
    "spectrum_log_ratio",
    "spread_skill_ratio",
    "student_t_quantile",
    "vrmse",
]
