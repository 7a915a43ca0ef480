"""Seq2seq: one training step (loss_and_grads + Adam) and greedy / beam-5 decoding, vs PyTorch.

    python benchmarks/bench_seq2seq.py [--quick] [--only beam] [--backends numpy] [--json F]
    python benchmarks/bench_seq2seq.py --gpu --backends cupy      # on a GPU, adds "large"

The model: ModelConfig(cell="lstm", attention="general", input_feed=True, bidirectional=False,
bridge="last"), one encoder and one decoder layer, no dropout. bridge="last" starts the decoder
from the encoder's final (h, c), the plain Luong setup, which the PyTorch peer reproduces without
extra layers. Workloads (S source, T decoder steps, E embedding, H hidden, V vocabulary):
    standard  N=64  S=T=30  E=256  H=256  V=8000     training step
    small     N=32  S=T=10  E=64   H=128  V=32       training step, greedy and beam-5 decoding
    large     N=128 S=T=50  E=512  H=512  V=32000    training step, with --gpu only (too big
                                                     for the 2-core CPU default run)
Batches come from make_batch on random ids >= 4 (0..3 are PAD, BOS, EOS, UNK), no padding.
The PyTorch peer holds copies of our initial weights, so both compute the same function (and
decode the same tokens, up to float32 rounding); it runs on --torch-device (auto: the GPU when
cupy is timed and torch has CUDA). --quick runs the small workload only.
"""

from __future__ import annotations

import argparse
from typing import Any, NamedTuple

import common
import numpy as np

from minis2s import backend
from minis2s.data.batching import Batch, make_batch
from minis2s.data.vocab import BOS_ID, EOS_ID, PAD_ID
from minis2s.decode.beam import beam_search
from minis2s.decode.common import NEVER_CHOSEN
from minis2s.decode.greedy import greedy
from minis2s.models.config import ModelConfig
from minis2s.models.seq2seq import Seq2Seq
from minis2s.train.optim import Adam

MAX_LEN_A, MAX_LEN_B = 2.0, 10  # decoding length limit a * S + b, the decoders' defaults
BEAM = 5


class Workload(NamedTuple):
    N: int
    S: int
    T: int
    E: int
    H: int
    V: int

    @property
    def shape(self) -> str:
        return f"N={self.N} S={self.S} T={self.T} E={self.E} H={self.H} V={self.V}"


WORKLOADS = {
    "standard": Workload(N=64, S=30, T=30, E=256, H=256, V=8000),
    "small": Workload(N=32, S=10, T=10, E=64, H=128, V=32),
    "large": Workload(N=128, S=50, T=50, E=512, H=512, V=32000),
}


def config(w: Workload) -> ModelConfig:
    return ModelConfig(
        src_vocab=w.V, tgt_vocab=w.V, cell="lstm", emb=w.E, hidden=w.H, bidirectional=False,
        attention="general", input_feed=True, bridge="last", dropout=0.0,
    )  # fmt: skip


def random_batch(w: Workload, seed: int = 0) -> Batch:
    """N pairs of S source ids and T - 1 target ids (T decoder steps with BOS/EOS), ids >= 4."""
    r = np.random.default_rng(seed)
    ids = lambda L: r.integers(4, w.V, L).tolist()
    return make_batch([(ids(w.S), ids(w.T - 1)) for _ in range(w.N)], list(range(w.N)))


# -- GEMM flop counts (elementwise math, softmax, loss and Adam are not counted) ----------------


def step_flops(w: Workload) -> float:
    """One decoder step of one row: LSTM cell on [E; H] with input feeding 2*4H*(E + 2H);
    general attention as q W_a then scores and context against the S keys 2H*H + 2*2*S*H
    (projecting the keys enc W_a^T once per batch instead costs 2*S*H*H per row, the same when
    S = T); combine W_c [c; h] 2*2H*H; output layer 2*H*V."""
    return 8 * w.H * (w.E + 2 * w.H) + 2 * w.H * w.H + 4 * w.S * w.H + 4 * w.H * w.H + 2 * w.H * w.V


def encoder_flops(w: Workload) -> float:
    """The encoder LSTM over S steps for one row: 2*4H*(E + H) per step."""
    return 8.0 * w.S * w.H * (w.E + w.H)


def train_flops(w: Workload) -> float:
    """Forward N (encoder + T decoder steps); the backward pass is two GEMMs per forward GEMM."""
    return 3.0 * w.N * (encoder_flops(w) + w.T * step_flops(w))


def decode_flops(w: Workload, row_steps: int) -> float:
    """Encoder once per sentence, then `row_steps` decoder steps of one row: the rows the
    decoder ran at each step, summed. The decoders (and the PyTorch peer) step every row of the
    batch (N, or N*K for beam search) until the last sentence is done, finished ones included,
    so this is more than one step per output token."""
    return w.N * encoder_flops(w) + row_steps * step_flops(w)


def counted_decode(decode: Any, model: Any) -> tuple[int, int]:
    """(output tokens, row steps) of one call of `decode`, counting the rows of every
    `model.step` call (an untimed run: the count's wrapper stays out of the timings)."""
    rows, step = [], model.step

    def counting_step(y: Any, state: Any, **kw: Any) -> Any:
        rows.append(len(y))
        return step(y, state, **kw)

    model.step = counting_step
    try:
        tokens = decode()
    finally:
        del model.step  # the class's method again
    return tokens, sum(rows)


# -- the PyTorch peer ------------------------------------------------------------------------


def torch_model(torch: Any, cfg: ModelConfig, params: dict[str, Any], device: str = "cpu") -> Any:
    """The same network as an nn.Module on `device` holding copies of our `params`: nn.Embedding,
    nn.LSTM encoder (cuDNN's on "cuda"), nn.LSTMCell decoder loop with input feeding, general
    attention as bmm, combine Linear + tanh, output Linear."""
    nn = torch.nn

    class TorchSeq2Seq(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            E, H = cfg.emb, cfg.hidden
            self.src_emb = nn.Embedding(cfg.src_vocab, E, padding_idx=PAD_ID)
            self.tgt_emb = nn.Embedding(cfg.tgt_vocab, E, padding_idx=PAD_ID)
            self.encoder = nn.LSTM(E, H, batch_first=True)
            self.cell = nn.LSTMCell(E + H, H)
            self.W_a = nn.Parameter(torch.empty(H, H))
            self.combine = nn.Linear(2 * H, H)
            self.out = nn.Linear(H, cfg.tgt_vocab)

        def encode(self, src):
            enc, (h, c) = self.encoder(self.src_emb(src))
            return enc, (h[0], c[0])  # bridge "last"

        def step(self, y, state, feed, enc, valid):
            h, c = self.cell(torch.cat([self.tgt_emb(y), feed], dim=1), state)
            s = torch.bmm(enc, (h @ self.W_a).unsqueeze(2)).squeeze(2)  # e_s = h W_a k_s^T
            a = torch.softmax(s.masked_fill(~valid, float("-inf")), dim=1)  # (N, S)
            ctx = torch.bmm(a.unsqueeze(1), enc).squeeze(1)  # (N, H)
            return torch.tanh(self.combine(torch.cat([ctx, h], dim=1))), (h, c)

        def forward(self, src, valid, tgt_in):
            enc, state = self.encode(src)
            feed, outs = enc.new_zeros(src.shape[0], cfg.hidden), []
            for t in range(tgt_in.shape[1]):
                feed, state = self.step(tgt_in[:, t], state, feed, enc, valid)
                outs.append(feed)
            return self.out(torch.stack(outs, dim=1))  # (N, T, V)

    names = {"src_emb.weight": "enc.emb.W", "tgt_emb.weight": "dec.emb.W", "W_a": "dec.att.W_a",
             "combine.weight": "dec.combine.W", "combine.bias": "dec.combine.b",
             "out.weight": "out.W", "out.bias": "out.b"}  # fmt: skip
    rnn = {"W_ih": "weight_ih", "W_hh": "weight_hh", "b_ih": "bias_ih", "b_hh": "bias_hh"}
    for k, t in rnn.items():
        names[f"encoder.{t}_l0"], names[f"cell.{t}"] = "enc.rnn.l0.fwd." + k, "dec.rnn.l0.fwd." + k
    model = TorchSeq2Seq()
    state = {k: torch.from_numpy(np.array(backend.to_numpy(params[v]))) for k, v in names.items()}
    model.load_state_dict(state, strict=True)
    return model.to(device)


def torch_tensors(torch: Any, b: Batch, device: str = "cpu") -> tuple[Any, Any, Any, Any]:
    """(src, valid, tgt_in, tgt_out) of a batch as torch tensors on `device`."""
    arrays = (b.src, b.src_mask > 0, b.tgt_in, b.tgt_out)
    return tuple(torch.from_numpy(a).to(device) for a in arrays)


def torch_greedy(torch: Any, model: Any, src: Any, valid: Any, limit: int) -> int:
    """Greedy decoding as minis2s.decode.greedy does it; returns the output tokens (EOS cut).
    New tensors go to src's device."""
    dev = src.device
    with torch.no_grad():
        enc, state = model.encode(src)
        N = src.shape[0]
        y, feed = torch.full((N,), BOS_ID, device=dev), enc.new_zeros(N, model.out.in_features)
        done = torch.zeros(N, dtype=torch.bool, device=dev)
        lengths = torch.full((N,), limit, device=dev)
        for t in range(limit):
            feed, state = model.step(y, state, feed, enc, valid)
            logp = torch.log_softmax(model.out(feed), dim=1)
            logp[:, NEVER_CHOSEN] = float("-inf")  # as our decoders: never <pad> or <s>
            y = logp.argmax(dim=1)
            lengths = torch.where(~done & (y == EOS_ID), t, lengths)
            done |= y == EOS_ID
            if bool(done.all()):
                break
    return int(lengths.sum())


def _torch_prune(top, order, hist, finished, t, limit, K, V):
    """beam_search's step 2 on the best 2K candidates (lists, per sentence): EOS (or the length
    limit) finishes a hypothesis, the others refill the K live slots. Returns (rows to keep,
    their new tokens, their scores), N*K each."""
    N = len(finished)
    rows = [n * K for n in range(N) for _ in range(K)]  # dead slots keep row n*K
    tokens, scores = [PAD_ID] * (N * K), [float("-inf")] * (N * K)
    for n in range(N):
        live = 0
        for sc, j in zip(top[n], order[n], strict=True):
            if sc == float("-inf") or live == K:
                break
            r, tok = n * K + j // V, j % V
            if tok == EOS_ID or t + 1 >= limit:
                finished[n].append((sc, hist[r] + [tok]))
                continue
            rows[n * K + live], tokens[n * K + live], scores[n * K + live] = r, tok, sc
            live += 1
    return rows, tokens, scores


def torch_beam(torch: Any, model: Any, src: Any, valid: Any, limit: int, K: int) -> int:
    """Beam search as minis2s.decode.beam_search does it (no length penalty); returns the
    output tokens of the best hypotheses (EOS cut). New tensors go to src's device."""
    N, dev, f64 = src.shape[0], src.device, torch.float64
    with torch.no_grad():
        enc, (h, c) = model.encode(src)
        rep = torch.arange(N, device=dev).repeat_interleave(K)  # sentence n: rows nK..nK+K-1
        enc, valid, state = enc[rep], valid[rep], (h[rep], c[rep])
        feed, y = h.new_zeros(N * K, h.shape[1]), torch.full((N * K,), BOS_ID, device=dev)
        scores = torch.full((N, K), float("-inf"), dtype=f64, device=dev)
        scores[:, 0] = 0.0  # one live hypothesis at the start
        hist, finished = [[] for _ in range(N * K)], [[] for _ in range(N)]
        for t in range(limit):
            feed, state = model.step(y, state, feed, enc, valid)
            logp = torch.log_softmax(model.out(feed), dim=1).double().view(N, K, -1)
            logp[:, :, NEVER_CHOSEN] = float("-inf")
            top, order = (scores[:, :, None] + logp).view(N, -1).topk(2 * K, dim=1)
            rows, tokens, new = _torch_prune(
                top.tolist(), order.tolist(), hist, finished, t, limit, K, logp.shape[2]
            )
            idx, y = torch.tensor(rows, device=dev), torch.tensor(tokens, device=dev)
            state, feed = (state[0][idx], state[1][idx]), feed[idx]
            hist = [hist[r] + [tok] for r, tok in zip(rows, tokens, strict=True)]
            scores = torch.tensor(new, dtype=f64, device=dev).view(N, K)
            best_live = scores[:, 0].tolist()  # no penalty: a live score only falls
            if all(f and max(f)[0] >= b for f, b in zip(finished, best_live, strict=True)):
                break
    best = [max(f)[1] for f in finished]
    return sum(ids.index(EOS_ID) if EOS_ID in ids else len(ids) for ids in best)


# -- the rows ----------------------------------------------------------------------------------


def ours_train(w: Workload) -> tuple[Any, Any]:
    """(one training step on the current backend, the model it trains)."""
    model, batch = Seq2Seq(config(w)), random_batch(w)
    opt = Adam(model.params, lr=1e-3)

    def step() -> None:
        _, grads = model.loss_and_grads(batch)
        opt.step(model.params, grads)

    return step, model


def torch_train(torch: Any, w: Workload, params: dict[str, Any], device: str = "cpu") -> Any:
    """The same training step in PyTorch on `device`: CrossEntropyLoss (mean over non-pad) and
    Adam."""
    cfg = config(w)
    model = torch_model(torch, cfg, params, device)
    src, valid, tgt_in, tgt_out = torch_tensors(torch, random_batch(w), device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    ce = torch.nn.CrossEntropyLoss(ignore_index=PAD_ID)  # mean over non-pad targets, as ours

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        ce(model(src, valid, tgt_in).reshape(-1, cfg.tgt_vocab), tgt_out.reshape(-1)).backward()
        opt.step()

    return step


def limit(w: Workload) -> int:
    return int(np.floor(MAX_LEN_A * w.S + MAX_LEN_B))


def ours_decode(w: Workload, beam: int) -> tuple[Any, Any]:
    """(a call decoding the batch on the current backend, the model); the call returns tokens."""
    model, b = Seq2Seq(config(w)), random_batch(w)

    def decode() -> int:
        if beam == 1:
            hyps = greedy(model, b.src, b.src_mask, max_len_a=MAX_LEN_A, max_len_b=MAX_LEN_B)
        else:
            hyps = beam_search(model, b.src, b.src_mask, beam_size=beam, max_len_a=MAX_LEN_A,
                               max_len_b=MAX_LEN_B)  # fmt: skip
        return sum(len(h[0].ids) for h in hyps)

    return decode, model


def torch_decode(
    torch: Any, w: Workload, params: dict[str, Any], beam: int, device: str = "cpu"
) -> Any:
    """A call decoding the batch in PyTorch on `device`; it returns the output tokens."""
    model = torch_model(torch, config(w), params, device)
    src, valid, _, _ = torch_tensors(torch, random_batch(w), device)
    if beam == 1:
        return lambda: torch_greedy(torch, model, src, valid, limit(w))
    return lambda: torch_beam(torch, model, src, valid, limit(w), beam)


class Job(NamedTuple):
    name: str
    workload: str
    beam: int  # 0: training step; 1: greedy; K > 1: beam search


JOBS = [Job("train step", "standard", 0), Job("train step", "small", 0),
        Job("greedy decode", "small", 1), Job(f"beam-{BEAM} decode", "small", BEAM)]  # fmt: skip
GPU_JOBS = [Job("train step", "large", 0)]  # with --gpu, after JOBS


def jobs(args: argparse.Namespace) -> list[Job]:
    """JOBS, and GPU_JOBS with --gpu; --quick keeps the small workload's, --only the names
    that contain it."""
    chosen = JOBS + (GPU_JOBS if args.gpu else [])
    chosen = [j for j in chosen if not args.quick or j.workload == "small"]
    return [j for j in chosen if not args.only or args.only in f"{j.name} ({j.workload})"]


def job_rows(
    job: Job, backends: list[str], peaks: common.Peaks, budget_s: float, torch_device: str = "cpu"
) -> common.Rows:
    """The job on every backend, and once in PyTorch on `torch_device` with the weights of the
    first backend's model (every backend starts from the same weights); each row's peak column
    is against its device's peak in `peaks`."""
    w, torch = WORKLOADS[job.workload], common.torch_or_none()
    rows, torch_ms = [], None
    for name in backends:
        be = backend.use(name)
        fn, model = ours_decode(w, job.beam) if job.beam else ours_train(w)
        if torch is not None and torch_ms is None:  # before training moves the weights
            if job.beam:
                peer = torch_decode(torch, w, model.params, job.beam, torch_device)
            else:
                peer = torch_train(torch, w, model.params, torch_device)
            clock = common.torch_clock(torch, torch_device)
            torch_ms = common.median_ms(peer, budget_s=budget_s, clock=clock)
        ms = common.median_ms(fn, budget_s=budget_s, clock=common.clock_for(be))
        if job.beam:
            tokens, row_steps = counted_decode(fn, model)
            flops = decode_flops(w, row_steps)
        else:
            tokens, flops = w.N * w.T, train_flops(w)
        row = common.make_row(f"{job.name} ({job.workload})", name, "float32", w.shape, ms,
                              sequences=w.N, tokens=tokens, flops=flops,
                              peak=peaks[common.device_of(name)],
                              torch_ms=torch_ms)  # fmt: skip
        common.progress(row)
        rows.append(row)
    return rows


def rows(args: argparse.Namespace, backends: list[str], peaks: common.Peaks) -> common.Rows:
    return [r for j in jobs(args)
            for r in job_rows(j, backends, peaks, args.budget, args.torch_device)]  # fmt: skip


if __name__ == "__main__":
    common.main(__doc__.split("\n")[0], rows, jobs)
