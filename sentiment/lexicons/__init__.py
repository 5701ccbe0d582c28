"""Word lists the analyzers read: the project's own work, each file says so in its header."""

from functools import cache
from pathlib import Path

_HERE = Path(__file__).resolve().parent


@cache
def load_lexicon(name: str) -> dict[str, float]:
    """`term<TAB>valence` lines of a file in this folder; `#` starts a comment line."""
    lexicon: dict[str, float] = {}
    for number, line in enumerate((_HERE / name).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        term, _, value = line.partition("\t")
        try:
            lexicon[term.strip()] = float(value)
        except ValueError:
            raise ValueError(f"{name}:{number}: expected term<TAB>valence, got {line!r}") from None
    return lexicon
