"""Tags taught by example: a small logistic regression on the stored embeddings.

Positives are the photos a person said yes to; negatives are the ones they rejected plus
a random sample of the rest of the library as background. Training is a few hundred
full-batch gradient steps on at most a few thousand 512-d vectors: well under a second.
"""
from __future__ import annotations

import numpy as np

BACKGROUND = 2000  # random library photos used as (weak) negatives
STEPS = 300
L2 = 1e-3
SUGGEST_AT = 0.5  # probability from which a photo is suggested / auto-tagged


def train(positives: np.ndarray, negatives: np.ndarray, background: np.ndarray
          ) -> tuple[np.ndarray, float]:
    """Weights and bias of a classifier separating positives from the rest. Rejected
    photos weigh as much as all background photos together, so a person's "no" counts."""
    x = np.concatenate([positives, negatives, background]).astype(np.float64)
    y = np.concatenate([np.ones(len(positives)), np.zeros(len(negatives) + len(background))])
    weight = np.concatenate([
        np.full(len(positives), 1.0 / max(len(positives), 1)),
        np.full(len(negatives), 0.5 / max(len(negatives), 1)),
        np.full(len(background), (0.5 if len(negatives) else 1.0) / max(len(background), 1))])
    if not len(negatives) and not len(background):
        raise ValueError("nothing to contrast the examples with")
    x_mean = x.mean(axis=0)
    xc = x - x_mean
    w, b = np.zeros(x.shape[1]), 0.0
    rate = 2.0 / ((xc * xc).sum(axis=1).max() + L2)  # 1 / the loss's Lipschitz bound
    for _ in range(STEPS):  # gradient descent on the weighted log-loss (convex)
        p = 1.0 / (1.0 + np.exp(-(xc @ w + b)))
        error = weight * (p - y)
        w -= rate * (xc.T @ error + L2 * w)
        b -= rate * error.sum()
    return w, b - float(x_mean @ w)


def probability(vectors: np.ndarray, model: tuple[np.ndarray, float]) -> np.ndarray:
    w, b = model
    logits: np.ndarray = vectors.astype(np.float64) @ w + b
    probabilities: np.ndarray = 1.0 / (1.0 + np.exp(-logits))
    return probabilities
