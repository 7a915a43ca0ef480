"""The README's "Gradient checks" section as a learner uses it: its layer-norm check runs as
shown (and fails when its mask line is left out, as the README says), and every message it
quotes is one the checker prints."""

import re
from pathlib import Path

import numpy as np
import pytest

from minis2s.gradcheck import assert_close, check_layer

README = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
SECTION = README.split("\n## Gradient checks\n", 1)[1].split("\n## ", 1)[0]
[LAYER_NORM] = [b for b in re.findall(r"```python\n(.*?)```", SECTION, re.S) if "LayerNorm" in b]
MASK_LINE = "    dy = m * dy  # a padded position has no output, so no gradient\n"
SETTINGS_LINE = "@settings(max_examples=30, deadline=None)\n"


def flat(text: str) -> str:
    return " ".join(text.split())


def run_layer_norm_block(code: str) -> dict:
    namespace: dict = {}
    exec(compile(code, "<README.md, Gradient checks>", "exec"), namespace)
    namespace["test_layer_norm_gradients"]()  # the hypothesis test, as pytest would run it
    return namespace


def test_the_layer_norm_check_runs_as_shown():
    namespace = run_layer_norm_block(LAYER_NORM)
    assert namespace["LayerNormCache"]._fields == ("xhat", "inv_std", "g", "m")


def test_the_layer_norm_check_fails_without_its_mask_line_with_the_message_quoted():
    assert MASK_LINE in LAYER_NORM and SETTINGS_LINE in LAYER_NORM
    # the first failing example hypothesis finds, not shrunk to the smallest: shrinking reruns
    # the failing check over and over (10 s on CI) and the failure and its message are the same
    # for any padded batch, which is all this test reads
    first = SETTINGS_LINE.replace(")", ", phases=[Phase.explicit, Phase.reuse, Phase.generate])")
    without_mask = LAYER_NORM.replace(MASK_LINE, "").replace(SETTINGS_LINE, first)
    with pytest.raises(AssertionError) as failed:
        run_layer_norm_block("from hypothesis import Phase\n" + without_mask)
    quoted = re.search(
        r"reports\s+says\s+of\s+each\s+wrong\s+block\s+`(.*?)`", SECTION, re.S
    ).group(1)
    said = str(failed.value)
    wrong = re.findall(r"\n  (\w+): worst at \[", said)
    assert wrong and flat(said).count(flat(quoted)) == len(wrong)


def messages_of_the_bugs_the_readme_names() -> str:
    """What the checker says of a transposed square dW, a transposed (2, 3) one, an unsummed
    bias gradient, a float32 dW, a backward that writes into its cache's xhat, and the layer norm
    without its mask line on a batch with padding."""
    r = np.random.default_rng(0)
    layer_norm = {}
    exec(compile(LAYER_NORM, "<README.md, Gradient checks>", "exec"), layer_norm)

    def forward(x, p):
        return x @ p["W"].T + p["b"], (x, p["W"])

    said = []
    bugs = [
        (lambda dy, c: (dy @ c[1], {"W": c[0].T @ dy, "b": dy.sum(0)}), (3, 3)),
        (lambda dy, c: (dy @ c[1], {"W": c[0].T @ dy, "b": dy.sum(0)}), (2, 3)),
        (lambda dy, c: (dy @ c[1], {"W": dy.T @ c[0], "b": dy}), (2, 3)),
        (
            lambda dy, c: (dy @ c[1], {"W": (dy.T @ c[0]).astype(np.float32), "b": dy.sum(0)}),
            (2, 3),
        ),
    ]
    for backward, (H, D) in bugs:
        p = {"W": r.standard_normal((H, D)), "b": r.standard_normal(H)}
        try:
            assert_close(check_layer(forward, backward, [r.standard_normal((4, D))], p))
        except (AssertionError, ValueError) as e:
            said.append(str(e))

    def writes_xhat(dy, cache):
        cache.xhat[...] = 0.0
        return layer_norm["backward"](dy, cache)

    x, p = r.standard_normal((2, 3, 2)), {"g": np.ones(2), "b": np.zeros(2)}
    with pytest.raises(ValueError) as e:
        check_layer(layer_norm["forward"], writes_xhat, [x], p, mask=np.ones((2, 3)))
    said.append(str(e.value))
    no_mask = {}  # the layer norm without its mask line, on one real and one padded row
    exec(compile(LAYER_NORM.replace(MASK_LINE, ""), "<README.md>", "exec"), no_mask)
    mask = np.array([[1.0, 1.0, 1.0], [1.0, 0.0, 0.0]])
    with pytest.raises(AssertionError) as e:
        assert_close(check_layer(no_mask["forward"], no_mask["backward"], [x], p, mask=mask))
    return "\n".join([*said, str(e.value)])


def test_every_message_the_section_quotes_is_one_the_checker_prints():
    printed = flat(messages_of_the_bugs_the_readme_names())
    paragraph = SECTION.split("A failing check says where to look.", 1)[1]
    quoted = [q for q in re.findall(r"`([^`]*)`", paragraph, re.S) if len(q) > 12]
    assert len(quoted) == 7  # padding twice, transpose, two shapes, a dtype, the cache write
    for q in quoted:
        if q != "dy = m * dy":
            assert flat(q) in printed, q


def test_the_recipe_prints_the_errors_its_comment_shows():
    recipe = SECTION.split("Checking a layer of your own", 1)[1]
    code = re.search(r"```python\n(.*?)```", recipe, re.S).group(1)
    shown = re.search(r"print\(errors\) +# (\{.*\})", code).group(1)
    namespace: dict = {"print": lambda *a: None}
    exec(compile(code, "<README.md, Gradient checks>", "exec"), namespace)
    assert shown == "{" + ", ".join(f"'{k}': {v:.1e}" for k, v in namespace["errors"].items()) + "}"
