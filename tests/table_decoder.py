"""`Table`: a scripted decoder for beam search's tests, whose log-probabilities are a table."""

from typing import NamedTuple

import numpy as np

V = 9  # the scripted model's vocabulary: <pad> <s> </s> <unk> and 4..8


class Table:
    """A decoder whose next-token log-probabilities are a table: {tokens so far (after <s>):
    {token: log p}}; a token the table does not list gets -50."""

    class State(NamedTuple):
        enc: np.ndarray  # only read for its array module
        prefix: tuple  # per row, the tokens fed so far, <s> first

    def __init__(self, table):
        self.table = table

    def encode(self, src, src_mask):
        return self.State(np.zeros(len(src)), tuple(() for _ in range(len(src))))

    @staticmethod
    def select(state, index, *, same_sources=False):
        idx = np.asarray(index)
        return Table.State(state.enc[idx], tuple(state.prefix[i] for i in idx))

    def step(self, y, state, ids_checked=False):
        prefix = tuple(p + (int(t),) for p, t in zip(state.prefix, np.asarray(y), strict=True))
        logp = np.full((len(prefix), V), -50.0)
        for r, p in enumerate(prefix):
            for token, lp in self.table.get(p[1:], {}).items():  # p[0] is <s>
                logp[r, token] = lp
        return logp, self.State(state.enc, prefix), None
