"""ConfigError: a config's refusal of one field's value, which each caller words in its own
spelling of the field. The Python API reads `TrainConfig: lr must be ...` (its str); the command
line, where the user typed an option, reads `--lr -1: must be ...` (cli_options.option_words).
Imports nothing, so any module may raise it."""

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
