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


class Shallow(nn.Module):
    """Helpers every twin shares: field embeddings, first-order weights (no bias), the DNN."""

    def setup(self, sizes, opt, embedding, first_order=True):
        self.dim = opt["embedding_dim"]
        self.f = len(sizes)
        self.embedding = embedding(sizes, self.dim)
        self.first_order = embedding(sizes, 1) if first_order else None

    def embedding_tables(self):
        return list(self.embedding.tables) + (list(self.first_order.tables) if self.first_order is not None else [])

    def linear(self, x):
        return self.first_order(x).sum(dim=(1, 2))


def dnn_of(opt, input_dim, out=True):
    hidden = opt.get("hidden_units", opt.get("dnn_hidden_units", []))
    body, d = mlp_block(input_dim, hidden, opt.get("net_dropout", 0), opt.get("batch_norm", False))
    return (nn.Sequential(body, nn.Linear(d, 1)) if out else body), d


class NFM(Shallow):
    """logit = first order + DNN(1/2[(sum e)^2 - sum e^2])."""

    def __init__(self, sizes, opt, embedding):
        super().__init__()
        self.setup(sizes, opt, embedding)
        self.dnn, _ = dnn_of(opt, self.dim)

    def forward(self, x):
        e = self.embedding(x)
        s = e.sum(dim=1)
        return self.linear(x) + self.dnn(0.5 * (s * s - (e * e).sum(dim=1))).squeeze(1)


class PNN(Shallow):
    """IPNN: DNN([flatten e ++ <e_i, e_j>])."""

    def __init__(self, sizes, opt, embedding):
        super().__init__()
        self.setup(sizes, opt, embedding, first_order=False)
        self.dnn, _ = dnn_of(opt, self.f * self.dim + self.f * (self.f - 1) // 2)

    def forward(self, x):
        e = self.embedding(x)
        return self.dnn(torch.cat([e.flatten(1), inner_products(e)], dim=1)).squeeze(1)


class CIN(nn.Module):
    """FuxiCTR's CompressedInteractionNet: 1x1 Conv1d over the F*H_k Hadamard products per layer."""

    def __init__(self, f, units):
        super().__init__()
        self.convs = nn.ModuleList()
        prev = f
        for h in units:
            self.convs.append(nn.Conv1d(f * prev, h, kernel_size=1))
            prev = h
        self.fc = nn.Linear(sum(units), 1)

    def forward(self, e):
        b, f, d = e.shape
        x, pooled = e, []
        for conv in self.convs:
            z = torch.einsum("bhd,bmd->bhmd", e, x).reshape(b, f * x.shape[1], d)
            x = conv(z)
            pooled.append(x.sum(dim=-1))
        return self.fc(torch.cat(pooled, dim=-1)).squeeze(1)


class XDeepFM(Shallow):
    def __init__(self, sizes, opt, embedding):
        super().__init__()
        self.setup(sizes, opt, embedding)
        self.cin = CIN(self.f, opt["cin_layer_units"])
        self.dnn, _ = dnn_of(opt, self.f * self.dim)

    def forward(self, x):
        e = self.embedding(x)
        return self.linear(x) + self.cin(e) + self.dnn(e.flatten(1)).squeeze(1)


class DCNv2(Shallow):
    """Parallel full-rank DCN-V2: cross x_{l+1} = x0 * (W x_l + b) + x_l beside a DNN, Linear([cross ++ dnn])."""

    def __init__(self, sizes, opt, embedding):
        super().__init__()
        self.setup(sizes, opt, embedding, first_order=False)
        n = self.f * self.dim
        self.cross = nn.ModuleList(nn.Linear(n, n) for _ in range(opt["num_cross_layers"]))
        body, d = mlp_block(n, opt["parallel_dnn_hidden_units"], opt.get("net_dropout", 0), opt.get("batch_norm", False))
        self.dnn = body
        self.out = nn.Linear(n + d, 1)

    def forward(self, x):
        x0 = self.embedding(x).flatten(1)
        xl = x0
        for w in self.cross:
            xl = x0 * w(xl) + xl
        return self.out(torch.cat([xl, self.dnn(x0)], dim=1)).squeeze(1)


class SelfAttention(nn.Module):
    """FuxiCTR's MultiHeadSelfAttention: Q, K, V (no bias), softmax over fields, residual, [LN], ReLU."""

    def __init__(self, d_in, a, heads, residual, scale, layer_norm, dropout):
        super().__init__()
        self.h, self.dh = heads, a // heads
        self.q, self.k, self.v = (nn.Linear(d_in, a, bias=False) for _ in range(3))
        self.res = nn.Linear(d_in, a, bias=False) if residual and d_in != a else None
        self.residual, self.scale = residual, scale
        self.ln = nn.LayerNorm(a) if layer_norm else None
        self.drop = nn.Dropout(dropout) if dropout > 0 else None

    def forward(self, x):
        b, f, _ = x.shape
        split = lambda t: t.view(b, f, self.h, self.dh).transpose(1, 2)  # noqa: E731
        q, k, v = split(self.q(x)), split(self.k(x)), split(self.v(x))
        s = q @ k.transpose(-1, -2)
        if self.scale:
            s = s / self.dh ** 0.5
        w = s.softmax(dim=-1)
        if self.drop is not None:
            w = self.drop(w)
        out = (w @ v).transpose(1, 2).reshape(b, f, -1)
        if self.residual:
            out = out + (self.res(x) if self.res is not None else x)
        if self.ln is not None:
            out = self.ln(out)
        return out.relu()


class AutoInt(Shallow):
    def __init__(self, sizes, opt, embedding):
        super().__init__()
        self.setup(sizes, opt, embedding, first_order=False)
        a, d = opt["attention_dim"], self.dim
        layers = []
        for _ in range(opt["attention_layers"]):
            layers.append(SelfAttention(d, a, opt["num_heads"], opt.get("use_residual", True), opt.get("use_scale", False),
                                        opt.get("layer_norm", False), opt.get("net_dropout", 0)))
            d = a
        self.attention = nn.Sequential(*layers)
        self.fc = nn.Linear(self.f * a, 1)
        hidden = opt.get("dnn_hidden_units", [])
        self.dnn = dnn_of(opt, self.f * self.dim)[0] if hidden else None

    def forward(self, x):
        e = self.embedding(x)
        y = self.fc(self.attention(e).flatten(1)).squeeze(1)
        return y if self.dnn is None else y + self.dnn(e.flatten(1)).squeeze(1)


class FiBiNET(Shallow):
    """SENET + field_all bilinear on e and on the re-weighted v; first order + DNN(flatten[p ++ q])."""

    def __init__(self, sizes, opt, embedding):
        super().__init__()
        self.setup(sizes, opt, embedding)
        if opt.get("bilinear_type", "field_interaction") != "field_all":
            raise ValueError("the PyTorch FiBiNET twin implements bilinear_type field_all only")
        r = max(1, self.f // opt["reduction_ratio"])
        self.excite = nn.Sequential(nn.Linear(self.f, r, bias=False), nn.ReLU(), nn.Linear(r, self.f, bias=False), nn.ReLU())
        self.w = nn.Linear(self.dim, self.dim, bias=False)
        self.i, self.j = torch.triu_indices(self.f, self.f, offset=1)
        p = self.f * (self.f - 1) // 2
        self.dnn, _ = dnn_of(opt, 2 * p * self.dim)

    def bilinear(self, e):
        return self.w(e[:, self.i]) * e[:, self.j]

    def forward(self, x):
        e = self.embedding(x)
        v = e * self.excite(e.mean(dim=-1)).unsqueeze(-1)
        return self.linear(x) + self.dnn(torch.cat([self.bilinear(e).flatten(1), self.bilinear(v).flatten(1)], 1)).squeeze(1)


class AFM(Shallow):
    """w0 + first order + p^T sum_pairs softmax(h^T ReLU(W(e_i*e_j)+b)) (e_i*e_j), dropouts [attention, pooled]."""

    def __init__(self, sizes, opt, embedding):
        super().__init__()
        self.setup(sizes, opt, embedding)
        a = opt["attention_dim"]
        self.att = nn.Sequential(nn.Linear(self.dim, a), nn.ReLU(), nn.Linear(a, 1, bias=False))
        self.p = nn.Linear(self.dim, 1, bias=False)
        self.bias = nn.Parameter(torch.zeros(1))
        d1, d2 = opt.get("attention_dropout", [0, 0])
        self.drop1, self.drop2 = nn.Dropout(d1), nn.Dropout(d2)
        self.i, self.j = torch.triu_indices(self.f, self.f, offset=1)

    def forward(self, x):
        e = self.embedding(x)
        prod = e[:, self.i] * e[:, self.j]
        w = self.drop1(self.att(prod).softmax(dim=1))
        pooled = self.drop2((w * prod).sum(dim=1))
        return self.bias + self.linear(x) + self.p(pooled).squeeze(1)


class FFM(Shallow):
    """w0 + first order + sum_{i<j} <v_{x_i, j}, v_{x_j, i}> with F - 1 copies of every table (FuxiCTR's layout)."""

    def __init__(self, sizes, opt, embedding):
        super().__init__()
        self.setup(sizes, opt, embedding)
        del self.embedding  # FFM has only the field-aware copies
        self.copies = nn.ModuleList(embedding(sizes, self.dim) for _ in range(self.f - 1))
        self.bias = nn.Parameter(torch.zeros(1))

    def embedding_tables(self):
        return list(self.first_order.tables) + [t for c in self.copies for t in c.tables]

    def forward(self, x):
        v = [c(x) for c in self.copies]  # v[k][:, i]: field i's vector toward its k-th other field
        y = self.bias + self.linear(x)
        for i in range(self.f):
            for j in range(i + 1, self.f):
                y = y + (v[j - 1][:, i] * v[i][:, j]).sum(dim=1)
        return y


class GRDA:
    """Generalized regularized dual averaging for AutoFIS's gates, as the authors' gRDA code and
    finerank's GRDA (src/train/optim.ts): the accumulator starts at w0 and sums -lr*g; the L1
    threshold grows by c*lr^(1/2+mu)*(n^mu - (n-1)^mu) per step n; w = soft-threshold(a, threshold),
    so a gate whose accumulated gradient stays inside the threshold is exactly 0."""

    def __init__(self, params, lr, c, mu):
        self.params = list(params)
        self.lr, self.c, self.mu = lr, c, mu
        self.acc = [p.detach().clone() for p in self.params]
        self.threshold, self.n = 0.0, 0

    @torch.no_grad()
    def step(self):
        self.n += 1
        self.threshold += self.c * self.lr ** (0.5 + self.mu) * (self.n ** self.mu - (self.n - 1) ** self.mu)
        for p, a in zip(self.params, self.acc):
            if p.grad is None:
                continue
            a.add_(p.grad, alpha=-self.lr)
            p.copy_(a.sign() * (a.abs() - self.threshold).clamp_min(0))

    def zero_grad(self):
        for p in self.params:
            p.grad = None


class AutoFIS(Shallow):
    """AutoFIS over DeepFM (finerank's src/models/autofis.ts): logit = first order (no bias with a
    DNN) + sum_p alpha_p * BN(<e_i, e_j>)_p over the gated pairs p (BN without scale and shift) +
    DNN(flatten e) -> 1. `kept` None: the search stage (every pair gated); else the indices of the
    kept pairs among the F(F-1)/2 (the retrain stage). Gates start uniform in weight_base +- 0.001."""

    def __init__(self, sizes, opt, embedding, kept=None):
        super().__init__()
        self.setup(sizes, opt, embedding)
        i, j = torch.triu_indices(self.f, self.f, offset=1)
        idx = torch.arange(i.numel()) if kept is None else torch.as_tensor(sorted(kept), dtype=torch.long)
        self.i, self.j = i[idx], j[idx]
        p = idx.numel()
        self.gates = nn.Parameter(torch.empty(p)) if p > 0 else None
        self.norm = nn.BatchNorm1d(p, affine=False) if p > 0 else None
        hidden = opt.get("hidden_units", [])
        self.dnn = dnn_of(opt, self.f * self.dim)[0] if hidden else None
        self.bias = None if hidden else nn.Parameter(torch.zeros(1))
        self.weight_base = opt.get("weight_base", 0.6)

    def reset_gates(self):
        """Called after the generic Linear / embedding init."""
        if self.gates is not None:
            with torch.no_grad():
                self.gates.uniform_(self.weight_base - 0.001, self.weight_base + 0.001)

    def forward(self, x):
        e = self.embedding(x)
        y = self.linear(x)
        if self.bias is not None:
            y = y + self.bias
        if self.gates is not None:
            products = (e[:, self.i] * e[:, self.j]).sum(dim=2)
            y = y + self.norm(products) @ self.gates
        return y if self.dnn is None else y + self.dnn(e.flatten(1)).squeeze(1)


ZOO = {"fgcnn": FGCNN, "nfm": NFM, "pnn": PNN, "xdeepfm": XDeepFM, "dcnv2": DCNv2, "autoint": AutoInt,
       "autoint_plus": AutoInt, "fibinet": FiBiNET, "afm": AFM, "ffm": FFM,
       "autofis": AutoFIS}
