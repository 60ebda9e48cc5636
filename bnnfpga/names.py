"""Turn untrusted ONNX names into safe identifiers (C++, Verilog, file names)."""

import re

_UNSAFE = re.compile(r"[^A-Za-z0-9_]")
# Keywords of C++20 and SystemVerilog (IEEE 1800-2017) that a layer name could collide with.
_CPP_KEYWORDS = """alignas alignof and and_eq asm atomic_cancel atomic_commit atomic_noexcept auto bitand
    bitor bool break case catch char char8_t char16_t char32_t class compl concept const consteval
    constexpr constinit const_cast continue co_await co_return co_yield decltype default delete do
    double dynamic_cast else enum explicit export extern false float for friend goto if inline int
    long mutable namespace new noexcept not not_eq nullptr operator or or_eq private protected
    public reflexpr register reinterpret_cast requires return short signed sizeof static
    static_assert static_cast struct switch synchronized template this thread_local throw true try
    typedef typeid typename union unsigned using virtual void volatile wchar_t while xor xor_eq
    main NULL"""
_SYSTEMVERILOG_KEYWORDS = """accept_on alias always always_comb always_ff always_latch and assert
    assign assume automatic before begin bind bins binsof bit break buf bufif0 bufif1 byte case
    casex casez cell chandle checker class clocking cmos config const constraint context continue
    cover covergroup coverpoint cross deassign default defparam design disable dist do edge else
    end endcase endchecker endclass endclocking endconfig endfunction endgenerate endgroup
    endinterface endmodule endpackage endprimitive endprogram endproperty endspecify endsequence
    endtable endtask enum event eventually expect export extends extern final first_match for
    force foreach forever fork forkjoin function generate genvar global highz0 highz1 if iff
    ifnone ignore_bins illegal_bins implements implies import incdir include initial inout input
    inside instance int integer interconnect interface intersect join join_any join_none large
    let liblist library local localparam logic longint macromodule matches medium modport module
    nand negedge nettype new nexttime nmos nor noshowcancelled not notif0 notif1 null or output
    package packed parameter pmos posedge primitive priority program property protected pull0
    pull1 pulldown pullup pulsestyle_ondetect pulsestyle_onevent pure rand randc randcase
    randsequence rcmos real realtime ref reg reject_on release repeat restrict return rnmos rpmos
    rtran rtranif0 rtranif1 s_always s_eventually s_nexttime s_until s_until_with scalared
    sequence shortint shortreal showcancelled signed small soft solve specify specparam static
    string strong strong0 strong1 struct super supply0 supply1 sync_accept_on sync_reject_on
    table tagged task this throughout time timeprecision timeunit tran tranif0 tranif1 tri tri0
    tri1 triand trior trireg type typedef union unique unique0 unsigned until until_with untyped
    use uwire var vectored virtual void wait wait_order wand weak weak0 weak1 while wildcard wire
    with within wor xnor xor"""
_RESERVED = frozenset(w.lower() for w in (_CPP_KEYWORDS + " " + _SYSTEMVERILOG_KEYWORDS).split())
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
    """Hands out sanitised names, adding a numeric suffix when two sources collide. Names
    differing only in case count as colliding (include guards, case-insensitive file systems)."""

    def __init__(self) -> None:
        self._taken: set[str] = set()

    def take(self, name: str, fallback: str = "layer") -> str:
        base = sanitize(name, fallback)
        candidate, i = base, 1
        while candidate.lower() in self._taken:
            suffix = f"_{i}"
            candidate = f"{base[: MAX_LENGTH - len(suffix)]}{suffix}"
            i += 1
        self._taken.add(candidate.lower())
        return candidate
