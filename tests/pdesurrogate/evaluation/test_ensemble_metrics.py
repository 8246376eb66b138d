"""The ensemble scores against hand-computed values, closed forms and calibrated synthetic ensembles."""

from __future__ import annotations

import math

import pytest
import torch

from pdesurrogate.evaluation import metrics


def _grid(values) -> torch.Tensor:
    """Values as one-point frames ``(..., 1, 1)``."""
    return torch.tensor(values, dtype=torch.float64)[..., None, None]


def test_crps_hand_computed():
    # members 0, 1, 3 and truth 2: mean |x − y| = (2 + 1 + 1)/3; ordered-pair sum 2·(1 + 3 + 2) = 12,
    # over 2·M·(M − 1) = 12: CRPS = 4/3 − 1 = 1/3.
    assert metrics.crps_ensemble(_grid([[0.0], [1.0], [3.0]]), _grid([2.0])).item() == pytest.approx(1 / 3)


def test_crps_of_a_gaussian_ensemble_matches_the_closed_form():
    """The fair estimator is unbiased for any M: the grid average of many 4-member draws from
    N(0, σ²) approaches σ [z (2Φ(z) − 1) + 2φ(z) − 1/√π] for truth y = zσ."""
    generator = torch.Generator().manual_seed(0)
    sigma, y = 2.0, 1.4
    members = sigma * torch.randn(4, 200, 64, 64, generator=generator, dtype=torch.float64)
    crps = metrics.crps_ensemble(members, torch.full((200, 64, 64), y, dtype=torch.float64))
    z = y / sigma
    normal = torch.distributions.Normal(0.0, 1.0)
    closed = sigma * (z * (2 * normal.cdf(torch.tensor(z)) - 1) + 2 * normal.log_prob(torch.tensor(z)).exp()
                      - 1 / math.sqrt(math.pi))
    error = crps.std() / math.sqrt(crps.numel())
    assert abs(crps.mean() - closed) < 4 * error
    assert error < 0.01 * closed  # the test can tell


def test_gaussian_nll_hand_computed():
    # members 1 and 3: mean 2, unbiased variance 2; truth 4: ½ log(4π) + 4/4
    value = metrics.gaussian_nll(_grid([[1.0], [3.0]]), _grid([4.0])).item()
    assert value == pytest.approx(0.5 * math.log(4 * math.pi) + 1.0)


def test_student_t_quantiles_match_tables():
    assert metrics.student_t_quantile(0.975, 1) == pytest.approx(12.7062, abs=1e-4)
    assert metrics.student_t_quantile(0.95, 2) == pytest.approx(2.9200, abs=1e-4)
    assert metrics.student_t_quantile(0.75, 4) == pytest.approx(0.7407, abs=1e-4)


@pytest.mark.parametrize("members", [2, 3, 5])
@pytest.mark.parametrize("level", [0.5, 0.9])
def test_a_perfectly_calibrated_ensemble_covers_the_nominal_level(members, level):
    """Truth and members independent draws of one Gaussian (its mean and scale vary point to point):
    the observed coverage is the nominal level within binomial sampling error."""
    generator = torch.Generator().manual_seed(members)
    shape = (20, 32, 32)
    centre = 5 * torch.randn(shape, generator=generator, dtype=torch.float64)
    scale = torch.rand(shape, generator=generator, dtype=torch.float64) + 0.1
    draws = centre + scale * torch.randn(members + 1, *shape, generator=generator, dtype=torch.float64)
    coverage = metrics.interval_coverage(draws[1:], draws[0], level).mean().item()
    points = math.prod(shape)
    assert abs(coverage - level) < 4 * math.sqrt(level * (1 - level) / points)


def test_an_overconfident_ensemble_under_covers_and_its_spread_skill_is_below_one():
    generator = torch.Generator().manual_seed(1)
    truth = torch.randn(40, 16, 16, generator=generator, dtype=torch.float64)
    members = 0.3 * torch.randn(5, 40, 16, 16, generator=generator, dtype=torch.float64)
    assert metrics.interval_coverage(members, truth, 0.9).mean() < 0.5
    assert metrics.spread_skill_ratio(members, truth).mean() < 0.5


def test_spread_skill_of_a_calibrated_ensemble_is_one():
    generator = torch.Generator().manual_seed(2)
    draws = 3.0 * torch.randn(4, 100, 32, 32, generator=generator, dtype=torch.float64)
    members, truth = draws[1:], draws[0]
    spread = metrics.ensemble_spread(members)
    error = metrics.rmse(members.mean(dim=0), truth)
    ratio = math.sqrt(4 / 3) * spread.square().mean().sqrt() / error.square().mean().sqrt()
    assert ratio.item() == pytest.approx(1.0, abs=0.03)
    # members 1, 3, 5 vs truth 3: spread 2, rmse 0 → inf; against truth 5: sqrt(4/3)·2/2
    assert metrics.spread_skill_ratio(_grid([[1.0], [3.0], [5.0]]), _grid([5.0])).item() == pytest.approx(
        math.sqrt(4 / 3))


def test_spearman_hand_computed_and_ties():
    # ranks 1 2 3 4 vs 1 2 4 3: Σd² = 2, ρ = 1 − 6·2 / (4·15) = 0.8
    assert metrics.spearman_correlation(torch.tensor([1.0, 2, 3, 4]), torch.tensor([10.0, 20, 40, 30])) == \
        pytest.approx(0.8)
    assert metrics.spearman_correlation(torch.tensor([1.0, 2, 3]), torch.tensor([3.0, 2, 1])) == pytest.approx(-1.0)
    # ties take their mean rank: [1, 1, 2] → ranks 1.5 1.5 3, against 1 2 3: Pearson of those
    assert metrics.spearman_correlation(torch.tensor([1.0, 1, 2]), torch.tensor([1.0, 2, 3])) == \
        pytest.approx(math.sqrt(3) / 2)


def test_an_ensemble_of_one_is_refused():
    with pytest.raises(ValueError, match="at least 2 members"):
        metrics.crps_ensemble(torch.zeros(1, 4, 4), torch.zeros(4, 4))
