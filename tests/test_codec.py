"""The kernel probe's codec (grader/grade/kernel_probe.py): what student code returns crosses
from the kernel to the grader as JSON, and must come back as it was, or fail loudly."""
import json

import numpy as np
import pytest

from grader.grade.kernel_probe import MAX_ELEMENTS, Opaque, decode, encode, encode_tree
from grader.grade.probe import DECODE_ERRORS


def round_trip(value):
    """``value`` sent as the probe sends it: encoded, through JSON text, decoded."""
    return decode(json.loads(json.dumps(encode(value))))


ARRAYS = {
    "float64 3-d": np.random.default_rng(0).standard_normal((2, 3, 4)),
    "float32 transposed": np.arange(12, dtype=np.float32).reshape(3, 4).T,  # not contiguous
    "float16": np.array([0.1, -2.5, 65504], dtype=np.float16),
    "int64 strided": np.arange(20, dtype=np.int64)[::3],
    "int32 big-endian": np.arange(6, dtype=">i4").reshape(2, 3),
    "uint8": np.array([0, 7, 255], dtype=np.uint8),
    "bool": np.array([[True, False], [False, True]]),
    "complex128": np.array([1 + 2j, -0.5j]),
    "empty": np.zeros((0, 5)),
    "nan and inf": np.array([np.nan, np.inf, -np.inf, 0.0]),
}


@pytest.mark.parametrize("name", ARRAYS)
def test_arrays_come_back_equal_with_their_dtype_and_shape_as_fresh_writable_copies(name):
    sent = ARRAYS[name]
    got = round_trip(sent)
    assert isinstance(got, np.ndarray)
    assert (got.dtype, got.shape) == (sent.dtype, sent.shape)
    np.testing.assert_array_equal(got, sent)
    assert got.flags.writeable and got.flags.c_contiguous and not np.shares_memory(got, sent)


def test_a_zero_dimensional_array_keeps_its_shape():
    assert round_trip(np.array(2.5)).shape == ()


@pytest.mark.parametrize("sent, kind", [
    (np.float32(1.5), np.float32), (np.float64(-2.25), np.float64), (np.float16(0.5), np.float16),
    (3.5, float), (7, int), (np.int8(-3), int), (np.uint64(2**40), int), (True, bool), (np.bool_(False), bool),
    ("dx", str), (None, type(None)),
])
def test_scalars_keep_their_value_and_numpy_floats_their_dtype(sent, kind):
    got = round_trip(sent)
    assert type(got) is kind and got == sent


def test_nested_tuples_lists_and_dicts():
    sent = (np.ones(2), (1, [2.0, None]), {"W_embed": np.eye(2, dtype=np.float32), 3: {"inner": "x"}})
    got = round_trip(sent)
    assert isinstance(got, list) and isinstance(got[1], list)  # tuples come back as lists
    np.testing.assert_array_equal(got[0], np.ones(2))
    assert got[1] == [1, [2.0, None]]
    assert list(got[2]) == ["W_embed", "3"] and got[2]["3"] == {"inner": "x"}  # keys become strings, in order
    assert got[2]["W_embed"].dtype == np.float32


@pytest.mark.parametrize("sent, shown", [
    (np.array(["a", "bc"]), "<ndarray of dtype <U2>"),
    (np.array([None, 1], dtype=object), "<ndarray of dtype object>"),
    (np.zeros(MAX_ELEMENTS + 1, np.uint8), "<ndarray of shape (%d,) (too large to compare)>" % (MAX_ELEMENTS + 1)),
    (object(), "<object>"),
    (len, "<builtin_function_or_method>"),
    ({1, 2}, "<set>"),
])
def test_values_that_cannot_cross_come_back_as_their_type_name(sent, shown):
    got = round_trip(sent)
    assert isinstance(got, Opaque) and repr(got) == shown


def test_the_result_keeps_plain_keys_plain():
    encoded = encode_tree({"nonce": "ab12", "output": "printed", "missing": "rnn_forward",
                           "forward": [np.arange(2.0)], "loss": np.float32(1.0)})
    assert (encoded["nonce"], encoded["output"], encoded["missing"]) == ("ab12", "printed", "rnn_forward")
    assert encoded["loss"] == {"__scalar__": 1.0, "dtype": "<f4"}
    np.testing.assert_array_equal(decode(encoded["forward"])[0], [0.0, 1.0])


GOOD = encode(np.arange(4.0))


@pytest.mark.parametrize("damaged, error", [
    (dict(GOOD, __nd__=GOOD["__nd__"][:-3]), ValueError),  # truncated base64
    (dict(GOOD, __nd__="not base64!"), ValueError),
    (dict(GOOD, shape=[3]), ValueError),  # 4 numbers sent, 3 announced
    (dict(GOOD, dtype="<q9"), TypeError),
    ({"__scalar__": "many", "dtype": "<f8"}, ValueError),
    ({"__dict__": [["only a key"]]}, ValueError),
], ids=["truncated", "not-base64", "wrong-shape", "unknown-dtype", "scalar-text", "dict-pair"])
def test_a_damaged_payload_raises_what_the_probe_reports_as_a_damaged_reply(damaged, error):
    with pytest.raises(error) as raised:
        decode(damaged)
    assert isinstance(raised.value, DECODE_ERRORS)
