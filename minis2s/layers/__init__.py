"""Differentiable pieces, each a pair of pure functions `forward(...) -> (..., cache)` and
`backward(d..., cache) -> (d inputs..., dp)`, with a NamedTuple cache."""
