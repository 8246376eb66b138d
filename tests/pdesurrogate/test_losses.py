"""Losses, metrics and the learning-rate schedule against values computed by hand."""

import math

import pytest
import torch

from pdesurrogate.training import mse, relative_l2
from pdesurrogate.training.schedule import warmup_cosine


def test_mse_exact():
    target = torch.zeros(1, 2, 1, 2, 2)
    prediction = target.clone()
    prediction[0, 0, 0] = 2.0  # 4 of 8 values off by 2
    assert mse(prediction, target).item() == pytest.approx(4 * 4 / 8)


def test_relative_l2_is_per_frame_and_variable_then_averaged():
    target = torch.ones(1, 2, 2, 4, 4)
    target[:, :, 1] *= 100.0  # a large variable must not drown the small one
    prediction = target.clone()
    prediction[0, 0, 0] = 3.0  # ‖3 − 1‖/‖1‖ = 2 on one of four (frame, variable) pairs
    prediction[0, 1, 1] = 0.0  # ‖0 − 100‖/‖100‖ = 1 on another
    assert relative_l2(prediction, target).item() == pytest.approx((2 + 1 + 0 + 0) / 4)


def test_relative_l2_of_a_scaled_field():
    target = torch.randn(3, 1, 1, 8, 8)
    assert relative_l2(0.9 * target, target).item() == pytest.approx(0.1, rel=1e-5)


def test_warmup_then_cosine():
    assert warmup_cosine(0, 10, 110, 0.0) == pytest.approx(0.1)
    assert warmup_cosine(9, 10, 110, 0.0) == pytest.approx(1.0)
    assert warmup_cosine(10, 10, 110, 0.0) == pytest.approx(1.0)
    assert warmup_cosine(60, 10, 110, 0.0) == pytest.approx(0.5)
    assert warmup_cosine(110, 10, 110, 0.1) == pytest.approx(0.1)
    assert warmup_cosine(35, 10, 110, 0.0) == pytest.approx(0.5 * (1 + math.cos(math.pi / 4)))
    assert warmup_cosine(5, 0, 10, 0.0) == pytest.approx(0.5 * (1 + math.cos(math.pi / 2)))
