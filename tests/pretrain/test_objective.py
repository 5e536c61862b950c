"""Each rule of ECG-FM's pretraining objective on small tensors, against hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from lvsdctl.pretrain import losses, masking, negatives, rlm
from lvsdctl.pretrain.segments import split_segments, zscore_leads


# ----------------------------------------------------------------------------- segments
def test_split_segments_non_overlapping_5s_pairs():
    x = torch.arange(2 * 12 * 5000, dtype=torch.float32).view(2, 12, 5000)
    seg = split_segments(x)
    assert seg.shape == (2, 2, 12, 2500)
    assert torch.equal(seg[1, 0], x[1, :, :2500]) and torch.equal(seg[1, 1], x[1, :, 2500:])
    # 12 s: the remainder is dropped; 15 s: three segments -> one pair (an even count for CMSC).
    assert split_segments(torch.zeros(1, 12, 6000)).shape == (1, 2, 12, 2500)
    assert split_segments(torch.zeros(1, 12, 7500)).shape == (1, 2, 12, 2500)
    with pytest.raises(ValueError):
        split_segments(torch.zeros(1, 12, 4999))


def test_zscore_per_lead_and_flat_lead():
    x = torch.stack([torch.tensor([1.0, 2.0, 3.0, 4.0]), torch.full((4,), 7.0)]).unsqueeze(0)
    z = zscore_leads(x)
    assert torch.allclose(z[0, 0], (x[0, 0] - 2.5) / math.sqrt(1.25))
    assert torch.equal(z[0, 1], torch.zeros(4))


# ----------------------------------------------------------------------------- RLM
def test_rlm_rate_is_half_and_no_rescaling():
    rngs = [np.random.default_rng([0, i]) for i in range(2000)]
    keep = rlm.lead_keep_mask(rngs, 12)
    assert keep.shape == (2000, 12)
    assert abs(keep.mean() - 0.5) < 0.01  # 24,000 Bernoulli(0.5): sd 0.003
    x = torch.randn(2000, 12, 8)
    out = rlm.random_lead_masking(x, keep)
    k = torch.from_numpy(keep)
    assert torch.equal(out[k], x[k])  # kept leads unchanged: no 1/(1-p) rescaling
    assert torch.equal(out[~k], torch.zeros_like(out[~k]))


# ----------------------------------------------------------------------------- time masking
def test_num_spans_static_and_at_least_two():
    assert masking.num_spans(156, 0.5) == int(0.65 * 156 / 10 + 0.5) == 10
    assert masking.num_spans(156, 0.99) == 11
    assert masking.num_spans(20, 0.0) == 2  # 1.3 spans -> the minimum of 2


def test_mask_coverage_matches_hand_formula():
    frames, n = 156, 10
    rng = np.random.default_rng(0)
    draws = np.array([len(masking.sample_spans(frames, n, rng)) / frames for _ in range(3000)])
    expected = masking.expected_coverage(frames, n)
    # Hand check of the formula: ~ 1 - (1 - 10/146)^10 in the interior of the segment.
    assert 0.45 < expected < 0.55
    assert abs(draws.mean() - expected) < 0.005


def test_at_least_two_spans_are_masked():
    rng = np.random.default_rng(1)
    for _ in range(500):
        idx = masking.sample_spans(30, masking.num_spans(30, rng.random()), rng)
        assert len(idx) >= 11  # two distinct starts of 10-frame spans cover at least 11 frames


def test_compute_mask_indices_same_count_per_row():
    rngs = [np.random.default_rng([3, i]) for i in range(16)]
    mask = masking.compute_mask_indices(16, 156, batch_rng=np.random.default_rng(3), rngs=rngs)
    counts = mask.sum(1)
    assert (counts == counts[0]).all() and counts[0] >= 20


# ----------------------------------------------------------------------------- negatives
def test_negatives_never_the_positive_and_uniform_over_others():
    rngs = [np.random.default_rng([5, i]) for i in range(50)]
    idx = negatives.negative_indices(rngs, masked_steps=6, n=100)
    assert idx.shape == (50, 6, 100)
    steps = np.arange(6)[None, :, None]
    assert not (idx == steps).any()
    assert idx.min() == 0 and idx.max() == 5
    # each of the 5 other steps about 1/5 of the draws
    freq = np.array([(idx[:, 0] == j).mean() for j in range(1, 6)])
    assert np.allclose(freq, 0.2, atol=0.02)
    assert negatives.negatives_count(80) == 79 and negatives.negatives_count(500) == 100


def test_gather_negatives_reads_the_same_segment():
    y = torch.arange(2 * 3 * 1, dtype=torch.float32).view(2, 3, 1)  # segment b, step m -> 3b + m
    idx = np.array([[[1, 2], [0, 2], [0, 1]], [[2, 2], [0, 0], [1, 1]]])
    negs = negatives.gather_negatives(y, idx)
    assert negs.shape == (2, 2, 3, 1)
    assert negs[:, 0, 0, 0].tolist() == [1, 2] and negs[:, 1, 0, 0].tolist() == [5, 5]


# ----------------------------------------------------------------------------- loss terms
def test_infonce_hand_computed():
    x = torch.tensor([[[1.0, 0.0]]])
    y = torch.tensor([[[2.0, 0.0]]])  # cosine 1 with x
    negs = torch.tensor([[[[0.0, 1.0]]], [[[-1.0, 0.0]]]])  # cosines 0 and -1
    logits = losses.contrastive_logits(x, y, negs)
    assert torch.allclose(logits, torch.tensor([[10.0, 0.0, -10.0]]))
    assert float(losses.infonce(logits)) == pytest.approx(math.log(1 + math.exp(-10) + math.exp(-20)), abs=1e-6)


def test_negative_equal_to_positive_is_masked():
    x = torch.tensor([[[1.0, 0.0]]])
    y = torch.tensor([[[0.0, 1.0]]])  # cosine 0
    negs = torch.tensor([[[[0.0, 1.0]]], [[[1.0, 0.0]]]])  # the first IS the positive
    logits = losses.contrastive_logits(x, y, negs)
    assert logits[0, 1] == float("-inf") and float(logits[0, 2]) == pytest.approx(10.0)
    assert float(losses.infonce(logits)) == pytest.approx(math.log(1 + math.exp(10)), rel=1e-5)


def test_cmsc_symmetric_hand_computed():
    eye = torch.eye(2)
    assert float(losses.cmsc_loss(eye, 3 * eye)) == pytest.approx(math.log(1 + math.exp(-10)), abs=1e-6)
    z1 = torch.tensor([[1.0, 0.0], [1.0, 0.0]])  # logits [[10, 10], [0, 0]]
    rows = math.log(2)
    cols = (math.log(1 + math.exp(-10)) + math.log(1 + math.exp(10))) / 2
    assert float(losses.cmsc_loss(eye, z1)) == pytest.approx(rows / 2 + cols / 2, rel=1e-5)
    # positives by ECG id: a 20 s ECG gives two pairs that are both positives of each other
    ids = torch.tensor([7, 7])
    both = losses.cmsc_loss(eye, eye, ids, ids)
    assert float(both) == pytest.approx(-math.log(math.exp(10) / (math.exp(10) + 1)) / 2 + 0.5 * (-math.log(1 / (math.exp(10) + 1))), rel=1e-4)


def test_diversity_and_feature_penalties():
    uniform = torch.full((2, 4), 0.25)
    assert float(losses.perplexity(uniform)) == pytest.approx(8.0, rel=1e-5)
    assert float(losses.diversity_penalty(losses.perplexity(uniform), 8)) == pytest.approx(0.0, abs=1e-5)
    onehot = torch.tensor([[1.0, 0, 0, 0], [0, 0, 1.0, 0]])
    assert float(losses.diversity_penalty(losses.perplexity(onehot), 8)) == pytest.approx(0.75, abs=1e-5)
    assert float(losses.feature_penalty(torch.tensor([[1.0, 2.0], [3.0, 4.0]]))) == 7.5


def test_temperature_schedule():
    assert losses.gumbel_temperature(0) == 2.0
    assert losses.gumbel_temperature(1) == pytest.approx(2.0 * 0.999995)
    assert losses.gumbel_temperature(100_000) == pytest.approx(2.0 * 0.999995**100_000)  # ~1.21
    crossover = math.log(0.25) / math.log(0.999995)  # ~277,258 updates
    assert losses.gumbel_temperature(int(crossover) - 1000) > 0.5
    assert losses.gumbel_temperature(int(crossover) + 1) == 0.5
    assert losses.gumbel_temperature(10**7) == 0.5


def test_indexed_logits_equal_the_reference_layout():
    g = torch.Generator().manual_seed(0)
    codes = torch.randint(0, 3, (2, 6), generator=g)  # few codes: many negatives equal their positive
    table = torch.randn(3, 4, generator=g)
    y = table[codes]  # targets are a function of their codes, as after the quantizer
    x = torch.randn(2, 6, 4, generator=g)
    idx = negatives.negative_indices([np.random.default_rng(i) for i in range(2)], 6, 5)
    ref = losses.contrastive_logits(x, y, negatives.gather_negatives(y, idx))
    fast = losses.contrastive_logits_indexed(x, y, torch.from_numpy(idx), codes)
    assert torch.isinf(ref).any()
    assert torch.equal(torch.isinf(ref), torch.isinf(fast))
    assert torch.allclose(ref[~torch.isinf(ref)], fast[~torch.isinf(fast)], atol=1e-5)


def test_gumbel_noise_keyed_and_standard():
    from lvsdctl.pretrain.model import gumbel_noise

    a = gumbel_noise([np.random.default_rng([1, i]) for i in range(200)], (50, 2), torch.device("cpu"))
    b = gumbel_noise([np.random.default_rng([1, i]) for i in range(200)], (50, 2), torch.device("cpu"))
    assert torch.equal(a, b)
    # standard Gumbel: mean = Euler-Mascheroni 0.5772, variance pi^2 / 6
    assert abs(float(a.mean()) - 0.5772) < 0.03 and abs(float(a.var()) - math.pi**2 / 6) < 0.1
