"""Untrusted names → identifiers, the stream format, and board descriptions."""

from __future__ import annotations

import re
import tomllib

import numpy as np
import pytest

from bnnfpga import boards
from bnnfpga.errors import BnnfpgaError
from bnnfpga.hw.streams import pack_stream, to_hex_lines, words_per_pixel
from bnnfpga.ir.types import BIPOLAR, DType, TensorType, uint
from bnnfpga.names import MAX_LENGTH, UniqueNames, sanitize

IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")

# Keywords of C++20 (ISO/IEC 14882:2020, [lex.key] and alternative tokens) and of
# SystemVerilog (IEEE 1800-2017, Annex B, which includes every Verilog-2005 keyword).
CPP_KEYWORDS = """alignas alignof and and_eq asm auto bitand bitor bool break case catch char char8_t
char16_t char32_t class compl concept const consteval constexpr constinit const_cast continue co_await
co_return co_yield decltype default delete do double dynamic_cast else enum explicit export extern false
float for friend goto if inline int long mutable namespace new noexcept not not_eq nullptr operator or
or_eq private protected public register reinterpret_cast requires return short signed sizeof static
static_assert static_cast struct switch template this thread_local throw true try typedef typeid typename
union unsigned using virtual void volatile wchar_t while xor xor_eq""".split()
SV_KEYWORDS = """accept_on alias always always_comb always_ff always_latch and assert assign assume automatic
before begin bind bins binsof bit break buf bufif0 bufif1 byte case casex casez cell chandle checker class
clocking cmos config const constraint context continue cover covergroup coverpoint cross deassign default
defparam design disable dist do edge else end endcase endchecker endclass endclocking endconfig endfunction
endgenerate endgroup endinterface endmodule endpackage endprimitive endprogram endproperty endspecify
endsequence endtable endtask enum event eventually expect export extends extern final first_match for force
foreach forever fork forkjoin function generate genvar global highz0 highz1 if iff ifnone ignore_bins
illegal_bins implements implies import incdir include initial inout input inside instance int integer
interconnect interface intersect join join_any join_none large let liblist library local localparam logic
longint macromodule matches medium modport module nand negedge nettype new nexttime nmos nor
noshowcancelled not notif0 notif1 null or output package packed parameter pmos posedge primitive priority
program property protected pull0 pull1 pulldown pullup pulsestyle_ondetect pulsestyle_onevent pure rand
randc randcase randsequence rcmos real realtime ref reg reject_on release repeat restrict return rnmos
rpmos rtran rtranif0 rtranif1 s_always s_eventually s_nexttime s_until s_until_with scalared sequence
shortint shortreal showcancelled signed small soft solve specify specparam static string strong strong0
strong1 struct super supply0 supply1 sync_accept_on sync_reject_on table tagged task this throughout time
timeprecision timeunit tran tranif0 tranif1 tri tri0 tri1 triand trior trireg type typedef union unique
unique0 unsigned until until_with untyped use uwire var vectored virtual void wait wait_order wand weak
weak0 weak1 while wildcard wire with within wor xnor xor""".split()
KEYWORDS = frozenset(CPP_KEYWORDS) | frozenset(SV_KEYWORDS)
# Keywords bnnfpga's list does cover (a regression guard that passes today).
COVERED = ["module", "class", "wire", "int", "input", "output", "begin", "end", "reg", "logic", "always", "void"]

HOSTILE = [
    "../../etc/passwd",
    "a b;c",
    "",
    "123",
    "module",
    "Module",
    "endmodule",
    "class",
    "ünïcødé",
    "日本語",
    "conv/weight:0",
    "__init__",
    "_",
    "___",
    "a__b",
    "$(rm -rf /)",
    "x" * 300,
    "9" * 300,
    "é" * 300,
    "\x00\n\t",
    "/features/features.0/Conv",
    "/features/features.0/Conv_1",
    "onnx::Gemm_12",
    "layer",
    "layer_1",
]


@pytest.mark.parametrize("name", HOSTILE, ids=lambda s: repr(s[:16]))
def test_sanitize_gives_safe_identifiers(name):
    ident = sanitize(name)
    assert IDENT.match(ident), ident
    assert 0 < len(ident) <= MAX_LENGTH == 48
    assert ident.isascii()
    assert ident.lower() not in {k.lower() for k in COVERED}
    assert "/" not in ident and "." not in ident
    assert sanitize(ident) == ident or len(ident) == MAX_LENGTH, "sanitising twice changes nothing"


def test_sanitize_examples():
    assert sanitize("conv1") == "conv1"
    assert sanitize("../../etc/passwd") == "etc_passwd"
    assert sanitize("") == "layer" and sanitize("", fallback="node") == "node"
    assert sanitize("123").startswith("layer") and sanitize("123").endswith("123")
    assert sanitize("module") != "module"


@pytest.mark.parametrize("kw", COVERED)
def test_sanitize_avoids_covered_keywords(kw):
    assert sanitize(kw) != kw and IDENT.match(sanitize(kw))
    assert sanitize(kw.upper()).lower() != kw


def test_sanitize_avoids_every_cpp_and_systemverilog_keyword():
    # Regression: the reserved list once lacked xnor, nand, fork, interface, package, string,
    # assert, always_ff, static_cast, decltype, wchar_t, … (217 keywords in all).
    leaked = sorted(kw for kw in KEYWORDS if sanitize(kw) in KEYWORDS or sanitize(kw).lower() == kw.lower())
    assert leaked == []
    names = UniqueNames()
    for kw in sorted(KEYWORDS):
        ident = names.take(kw)
        assert ident not in KEYWORDS and IDENT.match(ident)


def test_unique_names_are_unique_and_valid():
    names = UniqueNames()
    taken = [names.take(n) for n in HOSTILE * 3]
    assert len(set(taken)) == len(taken)
    for ident in taken:
        assert IDENT.match(ident) and len(ident) <= MAX_LENGTH, ident
    # the first take of a name is its sanitised form; later ones add a suffix
    fresh = UniqueNames()
    assert fresh.take("conv") == "conv"
    second = fresh.take("conv")
    assert second != "conv" and second.startswith("conv")
    third = fresh.take(second)  # a source that happens to be named like a suffixed name
    assert third not in {"conv", second}
    more = {fresh.take("conv") for _ in range(5)}
    assert len(more) == 5 and not more & {"conv", second, third}


def test_unique_names_long_collisions_stay_within_length():
    names = UniqueNames()
    taken = [names.take("y" * 300) for _ in range(300)]
    assert len(set(taken)) == 300
    assert max(map(len, taken)) <= MAX_LENGTH


def test_unique_names_many_long_collisions_stay_within_length():
    # Regression: base[:44] + "_1000" was 49 characters from the 1000th collision on.
    names = UniqueNames()
    taken = [names.take("z" * 300) for _ in range(1001)]
    assert len(set(taken)) == 1001
    assert max(map(len, taken)) <= MAX_LENGTH
    assert all(IDENT.match(t) for t in taken)


# -- streams -----------------------------------------------------------------------------


def _expected_stream(values: np.ndarray, t: TensorType) -> np.ndarray:
    """Independent reference: per pixel (HWC order) one big integer with channel i at bits
    [i·k, (i+1)·k), two's complement, cut into 64-bit little-endian words."""
    n, c = values.shape[0], t.shape[0]
    k = t.dtype.bits
    pixels = int(np.prod(t.shape[1:])) if len(t.shape) > 1 else 1
    spatial = t.shape[1:]
    words = (c * k + 63) // 64
    out = np.zeros((n, pixels, words), np.uint64)
    for f in range(n):
        for p in range(pixels):
            pos = np.unravel_index(p, spatial) if spatial else ()
            bits = 0
            for i in range(c):
                v = int(values[(f, i) + tuple(pos)])
                field = (1 if v > 0 else 0) if t.dtype.kind == "bipolar" else v & ((1 << k) - 1)
                bits |= field << (i * k)
            for w in range(words):
                out[f, p, w] = (bits >> (64 * w)) & ((1 << 64) - 1)
    return out


@pytest.mark.parametrize(
    "shape, dtype",
    [
        ((3, 2, 4), uint(8)),
        ((70, 3, 2), BIPOLAR),
        ((64, 1, 3), BIPOLAR),
        ((9, 2, 2), DType("int", 4)),
        ((5, 3, 3), DType("int", 32)),
        ((3, 2, 2), DType("int", 13)),
        ((37,), BIPOLAR),
        ((10,), DType("int", 32)),
        ((130,), uint(2)),
    ],
    ids=str,
)
def test_pack_stream_layout(shape, dtype):
    rng = np.random.default_rng(len(shape) * 100 + dtype.bits)
    t = TensorType(shape, dtype)
    size = (3,) + shape
    if dtype.kind == "bipolar":
        values = rng.choice([-1, 1], size=size)
    else:
        values = rng.integers(dtype.min, dtype.max, size=size, endpoint=True)
        values.reshape(3, -1)[0, :2] = (dtype.min, dtype.max)
    got = pack_stream(values, t)
    assert got.dtype == np.uint64
    assert got.shape == (3, int(np.prod(shape[1:])) if len(shape) > 1 else 1, words_per_pixel(t))
    np.testing.assert_array_equal(got, _expected_stream(values, t))


def test_pack_stream_pixel_order_is_hwc():
    """Channel-major values (C, H, W) stream pixel by pixel, row-major, all channels of a
    pixel together: with one bit per channel, pixel (h, w) is the word of bits v[:, h, w]."""
    t = TensorType((2, 2, 3), uint(1))
    v = np.zeros((1, 2, 2, 3), np.int64)
    v[0, 0, 0, 1] = 1  # channel 0 at pixel (0, 1) → pixel 1, bit 0
    v[0, 1, 1, 0] = 1  # channel 1 at pixel (1, 0) → pixel 3, bit 1
    v[0, 1, 1, 2] = 1  # channel 1 at pixel (1, 2) → pixel 5, bit 1
    np.testing.assert_array_equal(pack_stream(v, t)[0, :, 0], [0, 1, 0, 2, 0, 2])


def test_pack_stream_twos_complement():
    t = TensorType((2,), DType("int", 4))
    got = pack_stream(np.array([[-1, -8], [7, -2]]), t)
    assert [int(w) for w in got[:, 0, 0]] == [0x8F, 0xE7]


def test_to_hex_lines():
    words = np.array([[1, 0xFFFFFFFFFFFFFFFF], [0xABC, 0]], np.uint64)
    assert to_hex_lines(words) == "0000000000000001\nffffffffffffffff\n0000000000000abc\n0000000000000000\n"


def test_words_per_pixel():
    assert words_per_pixel(TensorType((64, 2, 2), BIPOLAR)) == 1
    assert words_per_pixel(TensorType((65, 2, 2), BIPOLAR)) == 2
    assert words_per_pixel(TensorType((3, 8, 8), uint(8))) == 1
    assert words_per_pixel(TensorType((10,), DType("int", 32))) == 5


# -- boards ------------------------------------------------------------------------------

VALID_TOML = """
name = "custom"
description = "a test board"
part = "xc7z010clg400-1"
clock_mhz = 125

[resources]
lut = 17600
ff = 35200
bram36 = 60
dsp = 80

[deploy]
ps = "zynq7000"
hp_port = "S_AXI_HP0"
dma = "axi_dma"
pynq = "3.0.1"
"""


def test_load_pynq_z2():
    assert "pynq-z2" in boards.available()
    b = boards.load_board("pynq-z2")
    doc = tomllib.loads((boards.boards_dir() / "pynq-z2.toml").read_text())
    assert b.name == doc["name"] == "pynq-z2"
    assert b.part == doc["part"] and b.part.startswith("xc7z020")
    assert b.clock_mhz == float(doc["clock_mhz"])
    assert b.resources == {k: doc["resources"][k] for k in boards.RESOURCE_KEYS}
    assert all(isinstance(v, int) and v > 0 for v in b.resources.values())


@pytest.mark.parametrize("name", sorted(boards.available()))
def test_every_shipped_board_loads(name):
    b = boards.load_board(name)
    assert b.name == name
    assert b.hp_port in boards.PROCESSING_SYSTEMS[b.ps][1]


def test_the_boards_the_project_supports_are_shipped():
    parts = {name: boards.load_board(name).part for name in boards.available()}
    assert parts == {"pynq-z1": "xc7z020clg400-1", "pynq-z2": "xc7z020clg400-1", "ultra96-v2": "xczu3eg-sbva484-1-e",
                     "zcu104": "xczu7ev-ffvc1156-2-e", "kv260": "xck26-sfvc784-2LV-c"}
    assert boards.load_board("zcu104").ps_ip == "zynq_ultra_ps_e"
    assert boards.load_board("pynq-z1").ps_ip == "processing_system7"


def test_unknown_board_lists_available():
    with pytest.raises(BnnfpgaError) as info:
        boards.load_board("no-such-board")
    message = str(info.value)
    assert "no-such-board" in message
    for name in boards.available():
        assert name in message


def test_custom_board_file(tmp_path):
    path = tmp_path / "custom.toml"
    path.write_text(VALID_TOML)
    b = boards.load_board(str(path))
    assert (b.name, b.part, b.clock_mhz) == ("custom", "xc7z010clg400-1", 125.0)
    assert b.resources == {"lut": 17600, "ff": 35200, "bram36": 60, "dsp": 80}
    other = tmp_path / "board_without_suffix"
    other.write_text(VALID_TOML)
    assert boards.load_board(str(other)) == b


def _drop_line(text: str, prefix: str) -> str:
    lines = text.splitlines()
    kept = [ln for ln in lines if not ln.startswith(prefix)]
    assert len(kept) == len(lines) - 1
    return "\n".join(kept) + "\n"


@pytest.mark.parametrize(
    "edit, key",
    [
        (lambda t: _drop_line(t, "part ="), "part"),
        (lambda t: _drop_line(t, "name ="), "name"),
        (lambda t: _drop_line(t, "clock_mhz ="), "clock_mhz"),
        (lambda t: _drop_line(t, "dsp ="), "resources.dsp"),
        (lambda t: _drop_line(t, "lut ="), "resources.lut"),
        (lambda t: t.replace("[resources]", "[resource]"), "resources"),
        (lambda t: t.replace("lut = 17600", 'lut = "17600"'), "resources.lut"),
        (lambda t: t.replace("lut = 17600", "lut = true"), "resources.lut"),
        (lambda t: t.replace("bram36 = 60", "bram36 = 60.5"), "resources.bram36"),
        (lambda t: t.replace("clock_mhz = 125", 'clock_mhz = "fast"'), "clock_mhz"),
        (lambda t: t.replace("clock_mhz = 125", "clock_mhz = true"), "clock_mhz"),
        (lambda t: t.replace('part = "xc7z010clg400-1"', "part = 7020"), "part"),
        (lambda t: t.replace('name = "custom"', "name = 1"), "name"),
        (lambda t: _drop_line(t, "ps ="), "deploy.ps"),
        (lambda t: t.replace('ps = "zynq7000"', 'ps = "versal"'), "deploy.ps"),
        (lambda t: t.replace('hp_port = "S_AXI_HP0"', 'hp_port = "S_AXI_HP0_FPD"'), "deploy.hp_port"),
        (lambda t: t.replace('dma = "axi_dma"', 'dma = "vdma"'), "deploy.dma"),
        (lambda t: t.replace('pynq = "3.0.1"', 'pynq = "latest"'), "deploy.pynq"),
        (lambda t: t.replace("[deploy]", "[deployment]"), "deploy"),
    ],
)
def test_bad_board_file_names_the_key(tmp_path, edit, key):
    path = tmp_path / "bad.toml"
    path.write_text(edit(VALID_TOML))
    with pytest.raises(BnnfpgaError) as info:
        boards.load_board(str(path))
    message = str(info.value)
    assert re.search(rf"(^|[^\w.]){re.escape(key)}(\W|$)", message), message
    assert str(path) in message


@pytest.mark.parametrize(
    "edit, words",
    [
        (lambda t: t.replace("dsp = 80", "dsp = -1"), "non-negative"),
        (lambda t: t.replace("clock_mhz = 125", "clock_mhz = 0.5"), "clock_mhz"),
        (lambda t: t.replace("clock_mhz = 125", "clock_mhz = 5000"), "clock_mhz"),
        (lambda t: t.replace("[resources]", "[resources"), "bad.toml"),
    ],
)
def test_bad_board_values(tmp_path, edit, words):
    path = tmp_path / "bad.toml"
    path.write_text(edit(VALID_TOML))
    with pytest.raises(BnnfpgaError, match=re.escape(words)):
        boards.load_board(str(path))


def test_missing_board_file(tmp_path):
    with pytest.raises(BnnfpgaError):
        boards.load_board(str(tmp_path / "absent.toml"))
