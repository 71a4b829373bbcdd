"""The canonical values: the same list as canonical() in peer.cpp, in Python."""

import math
import struct


def _big_bytes():
    unit = b"syncmgr" + bytes(range(256))
    return (unit * ((4 << 20) // len(unit) + 1))[:4 << 20]


def _nested_list(depth):
    v = 1
    for _ in range(depth):
        v = [v]
    return v


VALUES = {
    "int_zero": 0,
    "int_neg_one": -1,
    "int_min": -2**63,
    "int_max": 2**63 - 1,
    "uint_2_63": 2**63,
    "uint_max": 2**64 - 1,
    "int_edges": [127, 128, -32, -33, 255, 256, -128, -129, 65535, 65536, -32768, -32769,
                  4294967295, 4294967296, -2147483648, -2147483649],
    "float_three": 3.0,
    "float_zero": 0.0,
    "float_neg_zero": -0.0,
    "float_pi": 3.141592653589793,
    "float_tiny": 5e-324,
    "float_max": 1.7976931348623157e308,
    "float_two_64": 18446744073709551616.0,
    "float_inf": math.inf,
    "float_neg_inf": -math.inf,
    "float_nan": math.nan,
    "str_empty": "",
    "str_ascii": "hello",
    "str_unicode": "h\u00e9llo w\u00f6rld \u2713 \U0001d11e",
    "str_nul": "a\0b",
    "bytes_empty": b"",
    "bytes_all": bytes(range(256)),
    "none": None,
    "bool_true": True,
    "bool_false": False,
    "list_empty": [],
    "map_empty": {},
    "nested": [1, [2, [3, []]], {"a": [1.5, None, True], "b": {"c": b"\x00\xff"}}],
    "map_int_keys": {1: "one", -2: "minus two", 2**64 - 1: "max"},
    "map_mixed_keys": {"s": 1, b"b": 2, 3: 3, 1.5: 4, None: 5, False: 6, (1, 2): "pair"},
    "deep": _nested_list(60),
    "big_bytes": _big_bytes(),
    "big_str": "\u00fcnic\u00f6de-\u2713" * 200000,
    "big_list": list(range(-50000, 50000)),
    "big_map": {str(i): i for i in range(50000)},
}


def same(a, b):
    """Exact equality: the same type at every level (bool is not int, float is not int), floats
    bit for bit (-0.0 is not 0.0, NaN equals NaN), maps with the same keys in the same order."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return struct.pack(">d", a) == struct.pack(">d", b)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return (len(a) == len(b)
                and all(same(ka, kb) and same(va, vb)
                        for (ka, va), (kb, vb) in zip(a.items(), b.items())))
    return a == b


def differences(expected, got):
    """Names whose values differ, for a readable assertion."""
    out = []
    for name, v in expected.items():
        if name not in got:
            out.append("%s: missing" % name)
        elif not same(v, got[name]):
            out.append("%s: expected %.80r, got %.80r" % (name, v, got[name]))
    return out
