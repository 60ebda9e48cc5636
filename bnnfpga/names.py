"""Turn untrusted ONNX names into safe identifiers (C++, Verilog, file names)."""

import re

_UNSAFE = re.compile(r"[^A-Za-z0-9_]")
# Reserved words of C++ and SystemVerilog that a layer name could collide with.
_RESERVED = frozenset(
    """alignas alignof and asm auto bool break case catch char class const constexpr continue
    default delete do double else enum explicit export extern false float for friend goto if
    inline int long mutable namespace new noexcept not nullptr operator or private protected
    public register return short signed sizeof static struct switch template this throw true
    try typedef typename union unsigned using virtual void volatile while xor always assign
    begin end input output inout logic module endmodule reg wire parameter localparam generate
    genvar function task initial posedge negedge bit byte integer real time""".split()
)
MAX_LENGTH = 48


def sanitize(name: str, fallback: str = "layer") -> str:
    """Map ``name`` to ``[A-Za-z_][A-Za-z0-9_]*``, never a reserved word, at most 48 chars."""
    ident = _UNSAFE.sub("_", name).strip("_")
    ident = re.sub(r"_+", "_", ident)
    if not ident:
        ident = fallback
    if ident[0].isdigit():
        ident = f"{fallback}_{ident}"
    if ident.lower() in _RESERVED:
        ident = f"{ident}_"
    return ident[:MAX_LENGTH]


class UniqueNames:
    """Hands out sanitised names, adding a numeric suffix when two sources collide."""

    def __init__(self) -> None:
        self._taken: set[str] = set()

    def take(self, name: str, fallback: str = "layer") -> str:
        base = sanitize(name, fallback)
        candidate, i = base, 1
        while candidate in self._taken:
            candidate = f"{base[: MAX_LENGTH - 4]}_{i}"
            i += 1
        self._taken.add(candidate)
        return candidate
