#!/usr/bin/env python3
"""Writes a small seed corpus of valid ONNX models for cairn-onnx-fuzzer into
the directory given (generated, not checked in). Independent of Cairn and of
the onnx package: it writes the protobuf wire format by hand, with the field
numbers of onnx.proto, so the fuzzer starts from models that import and
mutates toward the importer's deeper checks.
"""
import os
import struct
import sys

# TensorProto.DataType
FLOAT, INT64, BOOL = 1, 7, 9
# AttributeProto.AttributeType
A_INT, A_TENSOR, A_GRAPH, A_INTS = 2, 4, 5, 7


def varint(n):
    n &= (1 << 64) - 1  # negative int64s take ten bytes, as protobuf writes them
    out = b""
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out += bytes([byte | 0x80])
        else:
            return out + bytes([byte])


def field(number, value):
    """One field: ints as varints, bytes/str as length-delimited."""
    if isinstance(value, int):
        return varint(number << 3) + varint(value)
    if isinstance(value, str):
        value = value.encode()
    return varint(number << 3 | 2) + varint(len(value)) + value


def fields(number, values):
    return b"".join(field(number, v) for v in values)


def tensor(name, dtype, dims, raw):
    # TensorProto: dims=1, data_type=2, name=8, raw_data=9
    return fields(1, dims) + field(2, dtype) + field(8, name) + field(9, raw)


def floats(*xs):
    return struct.pack("<%df" % len(xs), *xs)


def int64s(*xs):
    return struct.pack("<%dq" % len(xs), *xs)


def value_info(name, dtype, dims):
    # ValueInfoProto{name=1, type=2}; TypeProto{tensor_type=1};
    # TypeProto.Tensor{elem_type=1, shape=2}; TensorShapeProto{dim=1};
    # Dimension{dim_value=1, dim_param=2} (a str dim is symbolic).
    shape = b"".join(field(1, field(2, d) if isinstance(d, str) else field(1, d)) for d in dims)
    return field(1, name) + field(2, field(1, field(1, dtype) + field(2, shape)))


def attr(name, kind, value):
    # AttributeProto: name=1, i=3, t=5, g=6, ints=8, type=20
    body = {A_INT: lambda: field(3, value), A_TENSOR: lambda: field(5, value),
            A_GRAPH: lambda: field(6, value), A_INTS: lambda: fields(8, value)}[kind]()
    return field(1, name) + body + field(20, kind)


def node(op, ins, outs, name, attrs=()):
    # NodeProto: input=1, output=2, name=3, op_type=4, attribute=5
    return fields(1, ins) + fields(2, outs) + field(3, name) + field(4, op) + fields(5, attrs)


def graph(name, nodes, inputs, outputs, inits=()):
    # GraphProto: node=1, name=2, initializer=5, input=11, output=12
    return (fields(1, nodes) + field(2, name) + fields(5, inits) + fields(11, inputs)
            + fields(12, outputs))


def model(g, opset=13):
    # ModelProto: ir_version=1, graph=7, opset_import=8 {domain=1, version=2}
    return field(1, 8) + field(8, field(1, "") + field(2, opset)) + field(7, g)


def seeds():
    x = value_info("x", FLOAT, ["n", 3])
    y = value_info("y", FLOAT, ["n", 3])
    w = tensor("w", FLOAT, [3, 2], floats(1, 2, 3, 4, 5, 6))
    yield "add.onnx", model(graph("g", [node("Add", ["x", "x"], ["y"], "add")], [x], [y]))
    yield "matmul.onnx", model(graph(
        "g", [node("MatMul", ["x", "w"], ["h"], "mm"), node("Relu", ["h"], ["y"], "relu")],
        [x], [value_info("y", FLOAT, ["n", 2])], [w]))
    shape = tensor("", INT64, [2], int64s(-1, 1))
    yield "reshape.onnx", model(graph(
        "g", [node("Constant", [], ["s"], "c", [attr("value", A_TENSOR, shape)]),
              node("Reshape", ["x", "s"], ["r"], "reshape"),
              node("ReduceSum", ["r"], ["y"], "sum", [attr("keepdims", A_INT, 0)])],
        [x], [value_info("y", FLOAT, [])]))
    yield "gather.onnx", model(graph(
        "g", [node("Gather", ["w", "i"], ["y"], "gather", [attr("axis", A_INT, 0)])],
        [value_info("i", INT64, [4])], [value_info("y", FLOAT, [4, 2])], [w]))
    # If: a branch each way, each a subgraph yielding one tensor.
    then = graph("then", [node("Neg", ["x"], ["t"], "neg")], [], [value_info("t", FLOAT, [])])
    other = graph("else", [node("Abs", ["x"], ["e"], "abs")], [], [value_info("e", FLOAT, [])])
    yield "if.onnx", model(graph(
        "g", [node("If", ["c"], ["y"], "if", [attr("then_branch", A_GRAPH, then),
                                               attr("else_branch", A_GRAPH, other)])],
        [value_info("c", BOOL, []), value_info("x", FLOAT, [])], [value_info("y", FLOAT, [])]))
    # Loop: (trip count, cond, carried) -> carried, the body adding 1.
    one = tensor("one", FLOAT, [], floats(1))
    body = graph(
        "body", [node("Identity", ["cond"], ["cond_out"], "id"),
                 node("Add", ["acc", "one"], ["acc_out"], "inc")],
        [value_info("iter", INT64, []), value_info("cond", BOOL, []),
         value_info("acc", FLOAT, [])],
        [value_info("cond_out", BOOL, []), value_info("acc_out", FLOAT, [])], [one])
    yield "loop.onnx", model(graph(
        "g", [node("Loop", ["m", "", "a"], ["y"], "loop", [attr("body", A_GRAPH, body)])],
        [value_info("m", INT64, []), value_info("a", FLOAT, [])], [value_info("y", FLOAT, [])]))


def main(out):
    os.makedirs(out, exist_ok=True)
    for name, data in seeds():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: make_onnx_corpus.py OUT_DIR")
    main(sys.argv[1])
