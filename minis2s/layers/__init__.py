"""Differentiable pieces, each a pair of pure functions `forward(...) -> (..., cache)` and
`backward(d..., cache)`, with a NamedTuple cache. backward returns the inputs' gradients, then
`dp` (linear, attention, the recurrent layers and stack); the inputs' gradient alone where there
are no parameters (dropout, softmax, loss); `dp` alone where the input is token ids (embedding)."""
