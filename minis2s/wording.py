"""How messages write a share: as a whole percentage, except that a part is never written as
0% or 100% (82 of 20,000 is "<1%", 19,990 of 20,000 is ">99%"), which would read as none or
all of it. Imports nothing, so any module may use it."""

from __future__ import annotations


def percent(part: float, whole: float) -> str:
    """`part / whole` as "37%"; "<1%" or ">99%" where rounding would make a part that is neither
    none nor all of `whole` read as 0% or 100%."""
    if whole <= 0:
        raise ValueError(f"percent: the whole must be > 0; got {whole!r}")
    text = f"{part / whole:.0%}"
    if text == "0%" and part > 0:
        return "<1%"
    if text == "100%" and part < whole:
        return ">99%"
    return text
