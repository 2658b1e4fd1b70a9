"""The reward network: one scalar per sound from (audio embedding, prompt embedding, parameters).

Trained with a Bradley-Terry loss on pairwise preferences (P(a preferred over b) = sigmoid(r_a - r_b))
and an ordinal (cumulative-logit) loss on 1-5 ratings (P(rating > k) = sigmoid(r - theta_k)), so both
kinds of feedback put the reward on the same logit scale. Input: [a, t, a*t, p] (a: audio embedding,
t: prompt embedding, p: parameter features); a linear part plus a small MLP.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class RewardNet(nn.Module):
    def __init__(self, emb_dim: int, param_dim: int, hidden: int = 32, dropout: float = 0.1) -> None:
        super().__init__()
        self.emb_dim, self.param_dim, self.hidden = int(emb_dim), int(param_dim), int(hidden)
        d = 3 * self.emb_dim + self.param_dim
        self.linear = nn.Linear(d, 1)
        self.mlp = nn.Sequential(nn.Linear(d, hidden), nn.GELU(), nn.Dropout(dropout), nn.Linear(hidden, 1))
        # rating thresholds theta_1 < ... < theta_4 (first value + positive steps)
        self.theta0 = nn.Parameter(torch.tensor(-1.5))
        self.theta_steps = nn.Parameter(torch.full((3,), 0.0))

    def thresholds(self) -> torch.Tensor:
        steps = F.softplus(self.theta_steps) + 1e-3
        return torch.cat([self.theta0[None], self.theta0 + torch.cumsum(steps, 0)])

    def forward(self, audio: torch.Tensor, text: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
        audio = audio.float()
        text = text.float().expand_as(audio) if text.dim() == 1 or text.shape[0] == 1 else text.float()
        x = torch.cat([audio, text, audio * text, params.float()], dim=-1)
        return (self.linear(x) + self.mlp(x)).squeeze(-1)

    def rating_nll(self, r: torch.Tensor, ratings: torch.Tensor) -> torch.Tensor:
        """Negative log-likelihood of integer ratings 1..5 under the cumulative-logit model."""
        theta = self.thresholds()
        above = torch.sigmoid(r[:, None] - theta[None, :])  # P(y > k), k = 1..4
        ones = torch.ones_like(r)[:, None]
        zeros = torch.zeros_like(r)[:, None]
        cum = torch.cat([ones, above, zeros], dim=1)  # P(y > 0) .. P(y > 5)
        probs = cum[:, :-1] - cum[:, 1:]  # P(y = 1..5)
        p = probs.gather(1, (ratings.long() - 1)[:, None]).squeeze(1)
        return -torch.log(p.clamp(min=1e-6)).mean()

    def expected_rating(self, r: torch.Tensor) -> torch.Tensor:
        theta = self.thresholds()
        return 1.0 + torch.sigmoid(r[:, None] - theta[None, :]).sum(dim=1)


def bt_loss(r_win: torch.Tensor, r_lose: torch.Tensor) -> torch.Tensor:
    return -F.logsigmoid(r_win - r_lose).mean()
