"""PyTorch twins of finerank's feature-crossing zoo models for bench:train (imported by torch_ctr.py).

Each class follows FuxiCTR's model of the same name (the layout finerank's dense parameter
counts are tested against) and takes the table sizes and the model's options from
config.json. `embedding_tables()` lists the tables the embedding regularizer covers.
"""
import math

import torch
from torch import nn


class FGCNNLayer(nn.Module):
    """FuxiCTR's FGCNN_Layer: per layer Conv2d((k,1), padding (k-1)/2) -> [BN2d] -> act ->
    MaxPool2d((p,1), padding H mod p), then Linear(H'*D*C -> H'*D*R) -> act, read as
    H'*R new fields of dimension D."""

    def __init__(self, num_fields, dim, channels, kernel_heights, pooling_sizes, recombined_channels,
                 activation="tanh", batch_norm=True):
        super().__init__()
        act = {"tanh": nn.Tanh, "relu": nn.ReLU}[activation.lower()]
        self.dim = dim
        self.convs, self.recombine = nn.ModuleList(), nn.ModuleList()
        c_in, h = 1, num_fields
        for c, k, p, r in zip(channels, kernel_heights, pooling_sizes, recombined_channels):
            layers = [nn.Conv2d(c_in, c, kernel_size=(k, 1), padding=((k - 1) // 2, 0))]
            layers += [nn.BatchNorm2d(c)] if batch_norm else []
            layers += [act(), nn.MaxPool2d((p, 1), padding=(h % p, 0))]
            self.convs.append(nn.Sequential(*layers))
            h = int(math.ceil(h / p))
            self.recombine.append(nn.Sequential(nn.Linear(h * dim * c, h * dim * r), act()))
            c_in = c
        self.num_new_fields = 0
        h = num_fields
        for p, r in zip(pooling_sizes, recombined_channels):
            h = int(math.ceil(h / p))
            self.num_new_fields += h * r

    def forward(self, e):  # e [B, F, D]
        x = e.unsqueeze(1)
        out = []
        for conv, rec in zip(self.convs, self.recombine):
            x = conv(x)
            out.append(rec(x.flatten(1)).reshape(e.shape[0], -1, self.dim))
        return torch.cat(out, dim=1)


def inner_products(e):
    """<e_i, e_j> for i < j, [B, F(F-1)/2] (FuxiCTR's InnerProductInteraction)."""
    f = e.shape[1]
    i, j = torch.triu_indices(f, f, offset=1)
    return (e[:, i] * e[:, j]).sum(dim=2)


def mlp_block(input_dim, hidden, dropout, batch_norm):
    layers, d = [], input_dim
    for h in hidden:
        layers.append(nn.Linear(d, h))
        if batch_norm:
            layers.append(nn.BatchNorm1d(h))
        layers.append(nn.ReLU())
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        d = h
    return nn.Sequential(*layers), d


class FGCNN(nn.Module):
    """FuxiCTR's FGCNN: generator embeddings (own tables unless share_embedding) -> FGCNN_Layer;
    IPNN over [raw ++ new] fields: MLP([flatten ++ inner products]) -> 1."""

    def __init__(self, sizes, opt, embedding):
        super().__init__()
        dim = opt["embedding_dim"]
        self.embedding = embedding(sizes, dim)
        self.fg_embedding = None if opt.get("share_embedding", False) else embedding(sizes, dim)
        self.fgcnn = FGCNNLayer(len(sizes), dim, opt["channels"], opt["kernel_heights"], opt["pooling_sizes"],
                                opt["recombined_channels"], opt.get("conv_activation", "tanh"),
                                opt.get("conv_batch_norm", True))
        t = len(sizes) + self.fgcnn.num_new_fields
        self.dnn, d = mlp_block(t * (t - 1) // 2 + t * dim, opt["dnn_hidden_units"], opt.get("net_dropout", 0),
                                opt.get("dnn_batch_norm", False))
        self.out = nn.Linear(d, 1)

    def embedding_tables(self):
        tables = list(self.embedding.tables)
        return tables + (list(self.fg_embedding.tables) if self.fg_embedding is not None else [])

    def forward(self, x):
        e = self.embedding(x)
        new = self.fgcnn(e if self.fg_embedding is None else self.fg_embedding(x))
        all_ = torch.cat([e, new], dim=1)
        return self.out(self.dnn(torch.cat([all_.flatten(1), inner_products(all_)], dim=1))).squeeze(1)


ZOO = {"fgcnn": FGCNN}
