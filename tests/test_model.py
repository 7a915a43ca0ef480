"""The whole encoder-decoder: gradients of every parameter against finite differences, for every
cell x attention x bidirectional x input-feeding combination, bridges, tying and feature inputs."""

import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minis2s import validate
from minis2s.data.batching import make_batch
from minis2s.data.vocab import PAD_ID
from minis2s.gradcheck import assert_close, check_model, numerical_grad
from minis2s.layers import attention, dropout, linear, loss, stack
from minis2s.models import ModelConfig, Seq2Seq, bridge, decoder, encoder
from minis2s.models.config import ATTENTIONS, BRIDGES, CELLS
from minis2s.models.params import init_params, sub
from tests.strategies import dims

F64 = np.float64
# Three pairs of different lengths, so the batch has padded source and target rows.
EXAMPLES = [([4, 5, 6], [4, 4]), ([5], [6]), ([6, 4], [5, 6, 4])]


def batch(examples=EXAMPLES):
    return make_batch(examples, np.arange(len(examples)))


def tiny(**kw) -> Seq2Seq:
    # init_scale 1: gradients of order 0.1, far above the ~1e-10 noise of the differences
    # (with the default 0.1 a 2-unit model has gradients near 1e-8, too close to the noise)
    opts = dict(src_vocab=7, tgt_vocab=7, emb=2, hidden=2, init_scale=1.0)
    opts.update(kw)
    return Seq2Seq(ModelConfig(**opts), seed=3, dtype=F64)


# The drawn whole-model checks (here, in test_reverse_source and test_shared_embeddings) and the
# fixed cases not in EVERY_ENTRY check each parameter on 3 entries drawn at random (all of a
# smaller one) and 2 random directions through all of it (gradcheck_sampled.py), not entry by
# entry: 4 forward passes per entry made them a third of the suite's time. The cases in
# EVERY_ENTRY and `minis2s gradcheck` check every entry of every kind of parameter, and
# test_bridges_two_layers every entry of each bridge's own parameters over a bidirectional encoder.
SAMPLED = dict(entries=3, directions=2)

COMBOS = [
    (cell, att, bi, feed)
    for cell, att, bi, feed in itertools.product(CELLS, ATTENTIONS, (False, True), (False, True))
    if not (att == "none" and feed) and not (att in ("dot", "scaled_dot") and bi)
]
# per cell and attention, the combination with the most parameters (both directions and input
# feeding where the attention allows them) is checked entry by entry, the others are sampled
EVERY_ENTRY = {
    max(c for c in COMBOS if c[:2] == (cell, att)) for cell in CELLS for att in ATTENTIONS
}


@pytest.mark.parametrize("cell,att,bi,feed", COMBOS)
def test_model_gradients(cell, att, bi, feed):
    model = tiny(cell=cell, attention=att, bidirectional=bi, input_feed=feed)
    sample = {} if (cell, att, bi, feed) in EVERY_ENTRY else SAMPLED
    assert_close(check_model(model, batch(), **sample))


BRIDGE_COMBOS = [(c, b) for c in CELLS for b in BRIDGES if c == "lstm" or b != "learned_h"]


@pytest.mark.parametrize("cell,bridge", BRIDGE_COMBOS)
@pytest.mark.parametrize("bi", [False, True])
def test_bridges_two_layers(cell, bridge, bi):
    """The bridge's own parameters entry by entry over a bidirectional encoder (the bridge's
    widest input), the rest of the model sampled (see SAMPLED); all sampled over a one-way one.

    The rest is proven entry by entry elsewhere: the encoder's 2-layer bidirectional stacks and
    the gradient they take in through their final states in test_stack.test_gradients (every
    cell, any dfinal), the 1-layer models in EVERY_ENTRY above, and the learned bridge over a
    2-layer bidirectional encoder, every cell, in `minis2s gradcheck` (test_checks.py). Here the
    samples and random directions through each encoder parameter see a bridge whose gradient
    into the encoder is wrong (dropped, the directions or the layers swapped): it moves every
    one of them."""
    model = tiny(cell=cell, bridge=bridge, enc_layers=2, dec_layers=2, bidirectional=bi)
    own = [k for k in model.params if k.startswith("bridge")] if bi else []
    assert_close(check_model(model, batch(), **SAMPLED, every_entry=own))


def test_check_model_checks_the_parameters_named_every_entry_and_samples_the_rest():
    """... and every entry of a parameter with no more than entries + directions (5) of them,
    which costs no more passes than its sample: here the LSTM's 4-entry biases and W_hh."""
    model = tiny(cell="lstm", bridge="learned", hidden=1)
    assert {w.size for w in model.params.values()} & {4, 5}
    errors = check_model(model, batch(), **SAMPLED, every_entry=["bridge.W", "bridge_c.b"])
    for name, w in model.params.items():
        compared = errors.numeric[name].size
        assert compared == (w.size if name in ("bridge.W", "bridge_c.b") or w.size <= 5 else 5)
    every = numerical_grad(lambda: model.loss(batch()), model.params["bridge.W"])
    np.testing.assert_array_equal(errors.numeric["bridge.W"], every.reshape(-1))
    with pytest.raises(ValueError, match=r"every_entry names \['bridge\.w'\], not parameters"):
        check_model(model, batch(), **SAMPLED, every_entry=["bridge.w"])


@st.composite
def model_case(draw):
    """(ModelConfig options, check_model options, examples): any valid mix of cell, attention,
    direction, feeding, bridge, depths, tying and dropout; emb and hidden drawn apart (size 1
    included); sampling and smoothing on or off; 1 to 3 sentences of source length 1 to 4 and
    target length 0 to 3 (one step to 4 with </s>), so rows are padded."""
    cell, bridge = draw(st.sampled_from(BRIDGE_COMBOS))
    enc_layers = draw(st.integers(1, 2))
    dec_layers = enc_layers if bridge == "last" else draw(st.integers(1, 2))
    bi = draw(st.booleans())
    att = draw(st.sampled_from([a for a in ATTENTIONS if not (bi and a in ("dot", "scaled_dot"))]))
    emb, hidden = draw(dims), draw(dims)
    opts = dict(cell=cell, emb=emb, hidden=hidden, enc_layers=enc_layers, dec_layers=dec_layers,
                bidirectional=bi, attention=att, bridge=bridge,
                input_feed=att != "none" and draw(st.booleans()),
                tie_embeddings=emb == hidden and draw(st.booleans()),
                dropout=draw(st.sampled_from([0.0, 0.3])))  # fmt: skip
    train = dict(seed=draw(st.integers(0, 2**16)), sampling_eps=draw(st.sampled_from([0.0, 0.5])),
                 label_smoothing=draw(st.sampled_from([0.0, 0.1])))  # fmt: skip
    ids = st.integers(3, 6)  # any word, <unk> included
    examples = [
        (draw(st.lists(ids, min_size=1, max_size=4)), draw(st.lists(ids, max_size=3)))
        for _ in range(draw(st.integers(1, 3)))
    ]
    return opts, train, examples


@given(model_case())
def test_model_gradients_drawn(case):
    """Every parameter's gradient, over configurations and batches drawn by hypothesis: the
    fixed cases above all have emb == hidden and N = 3; this one reaches N = 1, size-1 units,
    emb != hidden, one-step targets, every bridge over every depth and direction, and dropout,
    scheduled sampling, smoothing and tying with every cell."""
    opts, train, examples = case
    # h = 3e-4, not the default 1e-3: on some draws the differences' O(h^4) truncation reaches
    # the tolerance at 1e-3 (1.06e-7 for a 2-layer tanh RNN with E = 1, H = 3 and dot attention,
    # 8.6e-10 at 3e-4), while at 1e-4 their rounding grows to 2e-8 on others.
    assert_close(check_model(tiny(**opts), batch(examples), h=3e-4, **SAMPLED, **train))


def test_dropout_sampling_smoothing_tying():
    """Dropout masks and sampled tokens are fixed by re-seeding, so the check is exact.

    The tied matrix (the output layer's weights and the target embedding, which sampled tokens
    are read from) and the learned bridge from one encoder layer to two decoder layers are
    checked entry by entry; the rest is sampled (see SAMPLED): `minis2s gradcheck` checks every
    entry of 2-layer LSTM models with dropout, sampling and smoothing (seq2seq.lstm.general) and
    of a tied one with dropout and smoothing (seq2seq.lstm.tied-embeddings), test_checks.py."""
    model = tiny(cell="lstm", emb=3, hidden=3, dropout=0.3, tie_embeddings=True, dec_layers=2,
                 bridge="learned")  # fmt: skip
    own = ["dec.emb.W", "bridge.W", "bridge.b", "bridge_c.W", "bridge_c.b"]
    train = dict(seed=11, sampling_eps=0.5, label_smoothing=0.1)
    assert_close(check_model(model, batch(), **SAMPLED, every_entry=own, **train))


def test_feature_encoder():
    r = np.random.default_rng(0)
    ex = [(r.standard_normal((3, 4)), [4, 5]), (r.standard_normal((1, 4)), [6])]
    model = tiny(cell="gru", src_features=4)
    assert_close(check_model(model, batch(ex)))


def test_loss_does_not_depend_on_batch_companions():
    """A sentence's summed loss is the same alone and in a padded batch."""
    model = tiny(cell="lstm", attention="additive")
    total, n = model.nll(batch())
    parts = [model.nll(batch([ex])) for ex in EXAMPLES]
    assert n == sum(k for _, k in parts)
    np.testing.assert_allclose(total, sum(s for s, _ in parts), rtol=1e-12)


def test_the_training_loss_is_the_mean_over_real_target_tokens():
    """loss is the mean cross-entropy per non-pad target token: in a padded batch it is the
    token-weighted mean of the sentences' losses alone (a batch of one has no padding)."""
    model = tiny(cell="gru", attention="general")
    alone = [(model.loss(batch([ex])), len(ex[1]) + 1) for ex in EXAMPLES]
    want = sum(v * n for v, n in alone) / sum(n for _, n in alone)
    np.testing.assert_allclose(model.loss(batch()), want, rtol=1e-12)


def test_the_training_pass_drops_out_h_tilde_before_the_output_layer():
    """With rng, loss = cross_entropy(dropout(h~) W_out^T + b_out): recomposed here from the
    layers with a generator seeded alike, drawn in the pass's order (encoder, decoder, then the
    output's dropout last)."""
    model = tiny(cell="lstm", attention="general", input_feed=True, dropout=0.5)
    cfg, p, b = model.cfg, model.params, batch()
    src_mask = b.src_mask.astype(F64)
    r = np.random.default_rng(7)
    enc, final, _ = encoder.forward(b.src, src_mask, p, cfg, r)
    states0, _ = bridge.forward(final, p, cfg)
    outs, _, _ = decoder.forward(b.tgt_in, enc, src_mask, states0, p, cfg, rng=r)
    outs_d, _ = dropout.forward(outs, cfg.dropout, r)
    logits, _ = linear.forward(outs_d, model._out_params())
    want, _ = loss.forward(logits, b.tgt_out, ignore_index=PAD_ID)
    np.testing.assert_allclose(model.loss(b, rng=np.random.default_rng(7)), want, rtol=1e-12)


@pytest.mark.parametrize("init", ["uniform", "xavier"])
def test_init_params_follow_the_documented_scheme(init):
    """init_params as ModelConfig documents it: matrices U(-k, k), k = init_scale or Glorot's
    sqrt(6 / (fan_in + fan_out)); biases zero except an LSTM's forget gate, the second quarter
    of b_ih (gates i, f, g, o), at forget_bias; embedding pad rows zero; the attention vector v
    U(-init_scale, init_scale) with either init. The draws must fill their range (max |w| above
    3/4 of k): thousands of draws for a matrix, 32 for v."""
    cfg = ModelConfig(src_vocab=40, tgt_vocab=50, emb=24, hidden=32, cell="lstm", init=init,
                      attention="additive", init_scale=0.3, forget_bias=0.75, enc_layers=2,
                      bidirectional=True)  # fmt: skip
    params = init_params(cfg, seed=0, dtype=F64)
    assert any(".rnn." in k and k.endswith(".b_ih") for k in params) and "dec.att.v" in params
    for name, w in params.items():
        if w.ndim == 1 and not name.endswith("att.v"):
            want = np.zeros_like(w)
            if ".rnn." in name and name.endswith(".b_ih"):
                H = len(w) // 4
                want[H : 2 * H] = cfg.forget_bias
            np.testing.assert_array_equal(w, want, err_msg=name)
            continue
        k = cfg.init_scale
        if w.ndim == 2 and init == "xavier":
            k = np.sqrt(6.0 / (w.shape[0] + w.shape[1]))
        if name.endswith("emb.W"):
            assert not w[PAD_ID].any(), name
            w = np.delete(w, PAD_ID, axis=0)
        assert 0.75 * k < np.abs(w).max() <= k, name


def test_same_init_for_same_seed_and_config_mismatch_is_refused():
    a, b = tiny(cell="gru"), tiny(cell="gru")
    for k in a.params:
        np.testing.assert_array_equal(a.params[k], b.params[k])
    with pytest.raises(ValueError, match="another config"):
        Seq2Seq(ModelConfig(src_vocab=7, tgt_vocab=7, emb=2, hidden=3), a.params)


@pytest.mark.parametrize(
    "kw,msg",
    [
        (dict(cell="transformer"), "cell"),
        (dict(attention="luong"), "attention"),
        (dict(attention="none", input_feed=True), "input_feed .* needs attention; with attention="),
        (dict(bridge="last", enc_layers=2), "enc_layers == dec_layers"),
        (dict(bridge="learned_h", cell="gru"), "only for an LSTM .* a gru has no c: use bridge="),
        (dict(bridge="learned_h", cell="rnn"), "only for an LSTM .* an rnn has no c: use bridge="),
        (dict(attention="dot", bidirectional=True), "dot"),
        (dict(tie_embeddings=True, emb=3), "emb == hidden"),
        (dict(dropout=1.0), "dropout"),
        (dict(init_scale=0.0), "init_scale must be > 0"),
        (dict(init_scale=1e300), r"init_scale must be a finite number within float32 .*1e\+300"),
        (dict(cell="lstm", forget_bias=float("nan")), "forget_bias must be a finite number"),
        (dict(init="xavier", attention="additive", init_scale=-0.1), "init_scale must be > 0"),
    ],
)
def test_bad_config_is_explained(kw, msg):
    opts = dict(src_vocab=7, tgt_vocab=7, emb=2, hidden=2) | kw
    with pytest.raises(ValueError, match=msg):
        ModelConfig(**opts)


@pytest.mark.parametrize(
    "kw,message",
    [
        (dict(hidden="4"), r"hidden must be an integer; got '4' \(str\)"),
        (dict(emb=4.5), r"emb must be an integer; got 4.5"),
        (dict(dropout="0.1"), "dropout must be a number"),
        (dict(bidirectional=None), "bidirectional must be True or False"),
        (dict(cell=3), "cell must be a string"),
        (dict(hidden=True), r"hidden must be an integer; got True \(bool\)"),
        (dict(dropout=False), r"dropout must be a number; got False \(bool\)"),
    ],
)
def test_a_config_value_of_the_wrong_type_is_named(kw, message):
    with pytest.raises(TypeError, match=message):
        ModelConfig(**(dict(src_vocab=7, tgt_vocab=7) | kw))


def test_from_dict_names_a_field_modelconfig_does_not_have():
    with pytest.raises(ValueError, match=r"unknown fields \['hiden'\]; known: \["):
        ModelConfig.from_dict({"src_vocab": 7, "tgt_vocab": 7, "hiden": 4})


def test_model_dtype_seed_and_parameter_dtypes_are_checked():
    cfg = ModelConfig(src_vocab=7, tgt_vocab=7, emb=2, hidden=2)
    for dtype in ("float16", np.int32):
        with pytest.raises(ValueError, match="dtype .* is not supported; use float32"):
            Seq2Seq(cfg, dtype=dtype)
    with pytest.raises(ValueError, match="seed must be an integer >= 0; got -1"):
        Seq2Seq(cfg, seed=-1)
    params = Seq2Seq(cfg, dtype=F64).params
    with pytest.raises(ValueError, match=r"has dtype float64, the model float32; pass dtype='fl"):
        Seq2Seq(cfg, params)  # float32 unless told
    assert Seq2Seq(cfg, params, dtype=F64).params is params


def test_scheduled_sampling_options_are_checked():
    model = tiny()
    with pytest.raises(ValueError, match=r"sampling_eps is the probability .* in \[0, 1\]; got 2"):
        model.loss_and_grads(batch(), rng=np.random.default_rng(0), sampling_eps=2.0)
    with pytest.raises(ValueError, match="sampling_eps=0.5 draws .* so it needs rng"):
        model.loss_and_grads(batch(), sampling_eps=0.5)  # would silently not sample


def test_scheduled_sampling_feeds_back_only_tokens_a_decoder_could_choose():
    """The model's own token is its argmax over what decoding may output: an untrained model
    whose output layer favours <pad> or <s> fed them back (<pad> embeds to zeros)."""
    from minis2s.data.vocab import BOS_ID, PAD_ID

    for favoured in (PAD_ID, BOS_ID):
        model = tiny()
        model.params["out.b"][favoured] = 100.0  # the unmasked argmax everywhere
        _, caches = model._forward(batch(), np.random.default_rng(0), 1.0, 0.0)
        fed = caches[2].emb.ids[:, 1:]  # step 0 reads <s>; every later step the model's own
        assert not np.isin(fed, [PAD_ID, BOS_ID]).any()


def test_init_scale_is_free_where_nothing_reads_it():
    cfg = ModelConfig(src_vocab=7, tgt_vocab=7, init="xavier", attention="general", init_scale=0)
    assert not cfg.uses_init_scale


@pytest.mark.parametrize("att", ["dot", "general", "concat", "additive"])
def test_attention_keys_once_per_batch(att, monkeypatch):
    """A training pass computes the attention keys once, not once per target step, and takes
    their gradient through keys_backward once; attention.forward/backward are not called."""
    calls = {"keys_forward": 0, "keys_backward": 0}

    def counted(name):
        real = getattr(attention, name)

        def call(*args, **kw):
            calls[name] += 1
            return real(*args, **kw)

        return call

    for name in calls:
        monkeypatch.setattr(attention, name, counted(name))
    for name in ("forward", "backward"):
        monkeypatch.setattr(attention, name, lambda *a, **k: pytest.fail("per-step keys"))
    model = tiny(cell="gru", attention=att, bidirectional=False)
    model.loss_and_grads(batch())
    assert batch().tgt_in.shape[1] > 1 and calls == {"keys_forward": 1, "keys_backward": 1}


@pytest.mark.parametrize("att", ["none", "general", "additive"])
def test_decoding_steps_match_the_training_pass(att):
    """encode() (keys computed once), select() (rows of every field, keys too) and step() give the
    log-probabilities of the teacher-forced training pass, row for row."""
    model = tiny(cell="lstm", attention=att, input_feed=att != "none")
    cfg, p, b = model.cfg, model.params, model.to_device(batch())
    enc, final, _ = encoder.forward(b.src, b.src_mask, p, cfg)
    states0, _ = bridge.forward(final, p, cfg)
    outs, _, _ = decoder.forward(b.tgt_in, enc, b.src_mask, states0, p, cfg)
    want = loss.log_softmax(linear.forward(outs, model._out_params())[0])  # (N, T, V)
    order = np.array([2, 0, 1])
    state = Seq2Seq.select(model.encode(b.src, b.src_mask), order)
    assert (state.keys is None) == (att == "none")
    for t in range(b.tgt_in.shape[1]):
        logp, state, _ = model.step(b.tgt_in[order, t], state)
        np.testing.assert_allclose(logp, want[order, t], rtol=1e-12, atol=1e-14)


def test_select_within_sentences_keeps_the_per_sentence_fields():
    """Beam search reorders hypotheses only within their sentence's block of rows: select with
    same_sources=True gives what the full gather gives, without copying enc, src_mask, keys."""
    model = tiny(cell="gru", attention="general", input_feed=True, dec_layers=2, bridge="zero")
    b = model.to_device(batch())
    K = 3
    state = Seq2Seq.select(model.encode(b.src, b.src_mask), np.repeat(np.arange(3), K))
    state = model.step(np.arange(9) % 7, state)[1]  # every row now holds its own states and out
    within = np.array([2, 2, 0, 3, 5, 4, 8, 6, 6])  # row r reads a row of sentence r // K
    fast = Seq2Seq.select(state, within, same_sources=True)
    full = Seq2Seq.select(state, within)
    assert fast.enc is state.enc and fast.src_mask is state.src_mask and fast.keys is state.keys
    for name in ("enc", "src_mask", "keys", "out"):
        np.testing.assert_array_equal(getattr(fast, name), getattr(full, name))
    for got, want in zip(fast.states, full.states, strict=True):
        np.testing.assert_array_equal(got, want)
    assert not np.array_equal(fast.out, state.out)  # the reorder did move the hypotheses


def test_src_mask_values_are_checked_once_per_batch_not_per_step(monkeypatch):
    """On CuPy each check is a device-to-host round trip: decoder.forward and Seq2Seq.encode check
    src_mask once, and the steps (training and decoding) trust that check."""
    model = tiny(cell="lstm", attention="general", input_feed=True)
    b = model.to_device(batch())
    calls, real = [], validate.mask

    def counted(where, *args, **kw):
        calls.append(where)
        return real(where, *args, **kw)

    monkeypatch.setattr(validate, "mask", counted)
    model.loss_and_grads(batch())
    assert calls.count("decoder") == 1
    assert not [w for w in calls if w.startswith("attention")]
    calls.clear()
    state = model.encode(b.src, b.src_mask)
    for t in range(3):
        state = model.step(b.tgt_in[:, t], state)[1]
    assert calls.count("Seq2Seq.encode") == 1 and not [w for w in calls if "attention" in w]


def test_summary_lists_every_parameter_with_its_shape_and_the_total():
    model = Seq2Seq(ModelConfig(src_vocab=9, tgt_vocab=7, emb=3, hidden=5), seed=0)
    lines = model.summary().splitlines()
    assert lines[0].split() == ["parameter", "shape", "size"]
    rows = {line.split("  ")[0]: line for line in lines[1:-1]}
    assert list(rows) == list(model.params)
    assert "(20, 3)" in rows["enc.rnn.l0.fwd.W_ih"] and rows["enc.rnn.l0.fwd.W_ih"].endswith(" 60")
    assert "(20,)" in rows["enc.rnn.l0.fwd.b_ih"]
    assert lines[-1].split() == ["total", f"{model.num_params():,}"]


@pytest.mark.parametrize("share,tie,line", [
    (True, False, "shared: dec.emb.W is also the source embedding (no enc.emb.W)"),
    (False, True, "shared: dec.emb.W is also the output layer's weights (no out.W)"),
    (True, True, "shared: dec.emb.W is also the source embedding and the output layer's weights "
                 "(no enc.emb.W, out.W)"),
])  # fmt: skip
def test_summary_says_which_matrix_is_shared(share, tie, line):
    """A shared or tied matrix is listed once, under its decoder's name: the summary's last
    line says what else it is, and which names are missing for it."""
    cfg = ModelConfig(9, 9, emb=5, hidden=5, share_embeddings=share, tie_embeddings=tie)
    lines = Seq2Seq(cfg, seed=0).summary().splitlines()
    assert lines[-1] == line and lines[-2].split()[0] == "total"


@given(case=model_case(), F=dims, seed=st.integers(0, 2**16))
def test_feature_encoder_gradients_drawn(case, F, seed):
    """The feature-input encoder (src (N, S, F) floats, no source embedding) over drawn
    configurations and batches, as test_model_gradients_drawn does for token sources:
    test_feature_encoder above is one fixed case (a GRU, N = 2, F = 4)."""
    opts, train, examples = case
    r = np.random.default_rng(seed)
    examples = [(r.standard_normal((len(src), F)), tgt) for src, tgt in examples]
    model = tiny(src_features=F, **opts)
    assert_close(check_model(model, batch(examples), h=3e-4, **SAMPLED, **train))


@pytest.mark.parametrize("cell", CELLS)
def test_encoder_drops_out_its_input_and_between_its_layers_while_training(cell):
    """enc = stack(dropout(W_emb[src]), dropout=rate, rng): with an rng (training) the embedded
    source is dropped out (each unit kept where rng.random(x.shape) >= rate, scaled by
    1 / (1 - rate)), then the stack drops out between its layers from the same rng. The gradient
    checks cannot see a dropout that is missing from both passes, so this compares with a plain
    NumPy dropout of the input and the stack's own (tests/test_stack.py) between the layers."""
    rate = 0.5
    model = tiny(cell=cell, dropout=rate, enc_layers=2, dec_layers=2)
    cfg, p, b = model.cfg, model.params, batch()
    x = p["enc.emb.W"][b.src] * (b.src != PAD_ID)[..., None]  # the embedding, zero at padding
    draws = np.random.default_rng(5)
    keep = draws.random(x.shape) >= rate
    assert 0 < keep.mean() < 1
    p_rnn, mask = sub(p, "enc.rnn."), b.src_mask
    want, _, _ = stack.forward(
        x * keep / (1 - rate), None, p_rnn, mask, cell=cell, dropout=rate, rng=draws
    )
    got, _, _ = encoder.forward(b.src, mask, p, cfg, rng=np.random.default_rng(5))
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)
    # and both dropouts are there: neither alone gives the encoder's output
    no_input, _, _ = stack.forward(x, None, p_rnn, mask, cell=cell, dropout=rate, rng=draws)
    between_off, _, _ = stack.forward(x * keep / (1 - rate), None, p_rnn, mask, cell=cell)
    assert not np.allclose(got, no_input) and not np.allclose(got, between_off)
