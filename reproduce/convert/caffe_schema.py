"""The part of Caffe's message schema that a deploy net and its weights need.

Built at run time from a ``FileDescriptorProto`` written here (no ``.proto``
file, no ``protoc`` step): field names, numbers, types and defaults are
those of BVLC/caffe ``src/caffe/proto/caffe.proto`` (master, commit
9b89154), so a real ``.caffemodel`` (binary) and ``.prototxt`` (text
format) parse with it.  Only the messages and fields that change what a
supported layer computes are declared; anything else in a prototxt (fillers,
learning-rate multipliers, data layers' settings) is skipped by the text
parser, and unknown fields of a binary file are skipped by protobuf itself.

Both layer formats are here: ``NetParameter.layer`` (field 100,
``LayerParameter``: string types, ``BlobShape``) and the older
``NetParameter.layers`` (field 2, ``V1LayerParameter``: enum types, blobs
with num/channels/height/width), which 2014 models such as Places205-GoogLeNet
use.
"""
import functools

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

F = descriptor_pb2.FieldDescriptorProto
OPTIONAL, REPEATED = F.LABEL_OPTIONAL, F.LABEL_REPEATED
SCALARS = {"string": F.TYPE_STRING, "bool": F.TYPE_BOOL, "float": F.TYPE_FLOAT,
           "double": F.TYPE_DOUBLE, "int32": F.TYPE_INT32, "int64": F.TYPE_INT64,
           "uint32": F.TYPE_UINT32}

# V1LayerParameter.LayerType, caffe.proto lines 1261-1302: every value, so
# that an unsupported layer is named in the error rather than failing to parse.
V1_LAYER_TYPES = dict(
    NONE=0, ABSVAL=35, ACCURACY=1, ARGMAX=30, BNLL=2, CONCAT=3, CONTRASTIVE_LOSS=37,
    CONVOLUTION=4, DATA=5, DECONVOLUTION=39, DROPOUT=6, DUMMY_DATA=32,
    EUCLIDEAN_LOSS=7, ELTWISE=25, EXP=38, FLATTEN=8, HDF5_DATA=9, HDF5_OUTPUT=10,
    HINGE_LOSS=28, IM2COL=11, IMAGE_DATA=12, INFOGAIN_LOSS=13, INNER_PRODUCT=14,
    LRN=15, MEMORY_DATA=29, MULTINOMIAL_LOGISTIC_LOSS=16, MVN=34, POOLING=17,
    POWER=26, RELU=18, SIGMOID=19, SIGMOID_CROSS_ENTROPY_LOSS=27, SILENCE=36,
    SOFTMAX=20, SOFTMAX_LOSS=21, SPLIT=22, SLICE=33, TANH=23, WINDOW_DATA=24,
    THRESHOLD=31)

# (message, [(field, number, type, label, default)], {enum: {value: number}});
# a type that is not a scalar names a message or enum of this file.
LAYER_PARAMS = [("concat_param", "ConcatParameter"),
                ("convolution_param", "ConvolutionParameter"),
                ("inner_product_param", "InnerProductParameter"),
                ("lrn_param", "LRNParameter"), ("pooling_param", "PoolingParameter"),
                ("relu_param", "ReLUParameter")]
MESSAGES = [
    ("BlobShape", [("dim", 1, "int64", REPEATED, None)], {}),
    ("BlobProto", [("shape", 7, "BlobShape", OPTIONAL, None),
                   ("data", 5, "float", REPEATED, None),
                   ("double_data", 8, "double", REPEATED, None),
                   ("num", 1, "int64", OPTIONAL, "0"),
                   ("channels", 2, "int64", OPTIONAL, "0"),
                   ("height", 3, "int64", OPTIONAL, "0"),
                   ("width", 4, "int64", OPTIONAL, "0")], {}),
    ("NetStateRule", [("phase", 1, "Phase", OPTIONAL, None)], {}),
    ("ConvolutionParameter", [
        ("num_output", 1, "uint32", OPTIONAL, None),
        ("bias_term", 2, "bool", OPTIONAL, "true"),
        ("pad", 3, "uint32", REPEATED, None),
        ("kernel_size", 4, "uint32", REPEATED, None),
        ("stride", 6, "uint32", REPEATED, None),
        ("dilation", 18, "uint32", REPEATED, None),
        ("pad_h", 9, "uint32", OPTIONAL, "0"), ("pad_w", 10, "uint32", OPTIONAL, "0"),
        ("kernel_h", 11, "uint32", OPTIONAL, None),
        ("kernel_w", 12, "uint32", OPTIONAL, None),
        ("stride_h", 13, "uint32", OPTIONAL, None),
        ("stride_w", 14, "uint32", OPTIONAL, None),
        ("group", 5, "uint32", OPTIONAL, "1"),
        ("axis", 16, "int32", OPTIONAL, "1")], {}),
    ("PoolingParameter", [
        ("pool", 1, "PoolMethod", OPTIONAL, "MAX"),
        ("pad", 4, "uint32", OPTIONAL, "0"),
        ("pad_h", 9, "uint32", OPTIONAL, "0"), ("pad_w", 10, "uint32", OPTIONAL, "0"),
        ("kernel_size", 2, "uint32", OPTIONAL, None),
        ("kernel_h", 5, "uint32", OPTIONAL, None),
        ("kernel_w", 6, "uint32", OPTIONAL, None),
        ("stride", 3, "uint32", OPTIONAL, "1"),
        ("stride_h", 7, "uint32", OPTIONAL, None),
        ("stride_w", 8, "uint32", OPTIONAL, None),
        ("global_pooling", 12, "bool", OPTIONAL, "false"),
        ("round_mode", 13, "RoundMode", OPTIONAL, "CEIL")],
     {"PoolMethod": dict(MAX=0, AVE=1, STOCHASTIC=2), "RoundMode": dict(CEIL=0, FLOOR=1)}),
    ("LRNParameter", [
        ("local_size", 1, "uint32", OPTIONAL, "5"),
        ("alpha", 2, "float", OPTIONAL, "1"),
        ("beta", 3, "float", OPTIONAL, "0.75"),
        ("norm_region", 4, "NormRegion", OPTIONAL, "ACROSS_CHANNELS"),
        ("k", 5, "float", OPTIONAL, "1")],
     {"NormRegion": dict(ACROSS_CHANNELS=0, WITHIN_CHANNEL=1)}),
    ("InnerProductParameter", [
        ("num_output", 1, "uint32", OPTIONAL, None),
        ("bias_term", 2, "bool", OPTIONAL, "true"),
        ("axis", 5, "int32", OPTIONAL, "1"),
        ("transpose", 6, "bool", OPTIONAL, "false")], {}),
    ("ConcatParameter", [("concat_dim", 1, "uint32", OPTIONAL, "1"),
                         ("axis", 2, "int32", OPTIONAL, "1")], {}),
    ("InputParameter", [("shape", 1, "BlobShape", REPEATED, None)], {}),
    ("ReLUParameter", [("negative_slope", 1, "float", OPTIONAL, "0")], {}),
    ("LayerParameter", [
        ("name", 1, "string", OPTIONAL, None), ("type", 2, "string", OPTIONAL, None),
        ("bottom", 3, "string", REPEATED, None), ("top", 4, "string", REPEATED, None),
        ("blobs", 7, "BlobProto", REPEATED, None),
        ("include", 8, "NetStateRule", REPEATED, None),
        ("exclude", 9, "NetStateRule", REPEATED, None),
        ("input_param", 143, "InputParameter", OPTIONAL, None)]
     + [(f, n, m, OPTIONAL, None) for (f, m), n in zip(LAYER_PARAMS,
                                                         (104, 106, 117, 118, 121, 123))],
     {}),
    ("V1LayerParameter", [
        ("bottom", 2, "string", REPEATED, None), ("top", 3, "string", REPEATED, None),
        ("name", 4, "string", OPTIONAL, None),
        ("include", 32, "NetStateRule", REPEATED, None),
        ("exclude", 33, "NetStateRule", REPEATED, None),
        ("type", 5, "LayerType", OPTIONAL, None),
        ("blobs", 6, "BlobProto", REPEATED, None)]
     + [(f, n, m, OPTIONAL, None) for (f, m), n in zip(LAYER_PARAMS,
                                                         (9, 10, 17, 18, 19, 30))],
     {"LayerType": V1_LAYER_TYPES}),
    ("NetParameter", [
        ("name", 1, "string", OPTIONAL, None),
        ("input", 3, "string", REPEATED, None),
        ("input_shape", 8, "BlobShape", REPEATED, None),
        ("input_dim", 4, "int64", REPEATED, None),
        ("layer", 100, "LayerParameter", REPEATED, None),
        ("layers", 2, "V1LayerParameter", REPEATED, None)], {}),
]
PACKED = {("BlobShape", "dim"), ("BlobProto", "data"), ("BlobProto", "double_data")}
TOP_ENUMS = {"Phase": dict(TRAIN=0, TEST=1)}


def _add_enum(container, name, values):
    enum = container.enum_type.add(name=name)
    for value, number in values.items():
        enum.value.add(name=value, number=number)


def file_descriptor():
    """The FileDescriptorProto of package ``caffe`` (proto2), as caffe.proto has it."""
    fd = descriptor_pb2.FileDescriptorProto(name="reproduce_caffe.proto",
                                            package="caffe", syntax="proto2")
    for name, values in TOP_ENUMS.items():
        _add_enum(fd, name, values)
    for message, fields, enums in MESSAGES:
        m = fd.message_type.add(name=message)
        for enum, values in enums.items():
            _add_enum(m, enum, values)
        for field, number, type_, label, default in fields:
            f = m.field.add(name=field, number=number, label=label)
            if type_ in SCALARS:
                f.type = SCALARS[type_]
            elif type_ in enums:
                f.type, f.type_name = F.TYPE_ENUM, ".caffe.%s.%s" % (message, type_)
            elif type_ in TOP_ENUMS:
                f.type, f.type_name = F.TYPE_ENUM, ".caffe." + type_
            else:
                f.type, f.type_name = F.TYPE_MESSAGE, ".caffe." + type_
            if default is not None:
                f.default_value = default
            if (message, field) in PACKED:
                f.options.packed = True
    return fd


@functools.lru_cache(maxsize=1)
def messages():
    """{name: message class} for every message of :func:`file_descriptor`."""
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file_descriptor())
    return {name: message_factory.GetMessageClass(
                pool.FindMessageTypeByName("caffe." + name))
            for name, _, _ in MESSAGES}


def net_parameter():
    """A fresh, empty ``caffe.NetParameter``."""
    return messages()["NetParameter"]()
