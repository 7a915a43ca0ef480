"""ConfigError: a config's refusal of one field's value, which each caller words in its own
spelling of the field. The Python API reads `TrainConfig: lr must be ...` (its str); the command
line, where the user typed an option, reads `--lr -1: must be ...` (cli_options.option_words).
Imports nothing of minis2s, so any module may raise it; `as_typed` spells a refused value as the
user would have typed it, for every message that quotes an option's value."""

from __future__ import annotations

from typing import Any


class ConfigError(ValueError):
    """`owner` (TrainConfig, ModelConfig, SGD) refuses `value` for its field `field`, because
    `body` ("must be >= 1"). `layout` places the three in the Python message, after "owner: "
    where there is an owner;
    `cli_body`, where given, is `body` for the command line, which spells a setting that `body`
    names in Python (`pass input_feed=False`) as an option."""

    def __init__(
        self, owner: str, field: str, value: Any, body: str,
        layout: str = "{field} {body}; got {value}", cli_body: str | None = None,
    ) -> None:  # fmt: skip
        self.owner, self.field, self.value, self.body = owner, field, value, body
        self.layout, self.cli_body = layout, cli_body
        said = layout.format(field=field, body=body, value=value, value_r=repr(value))
        super().__init__(f"{owner}: {said}" if owner else said)

    def __reduce__(self) -> Any:  # pickle calls it with args alone
        args = (self.owner, self.field, self.value, self.body, self.layout, self.cli_body)
        return type(self), args


def as_typed(value: Any) -> str:
    """An option's value as a user would type it: 2.5, -1 and 1000001 (not -1.0, or the 1e+06
    that `g` rounds it to), 1e+19, 1e-323 (not g's 9.88131e-324), a NumPy float64 as the number
    alone (not np.float64(0.5)), a word bare unless it is empty or has spaces at its ends."""
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e16:
            return str(int(value))
        return repr(float(value))  # the shortest digits read back as value: 2.5, 1e-323, nan
    if isinstance(value, str) and (value == "" or value != value.strip()):
        return repr(value)
    return str(value)
