"""``convert-weights SRC.mat DST.h5``: a MatConvNet SimpleNN model -> our HDF5 weights."""


def register(sub):
    p = sub.add_parser("convert-weights",
                       help="convert a MatConvNet .mat model (e.g. "
                            "imagenet-vgg-verydeep-16.mat) into our HDF5 weights")
    p.add_argument("src", help="MatConvNet SimpleNN .mat file (v5, v7 or v7.3)")
    p.add_argument("dst", help="HDF5 weights file to write")
    p.add_argument("--name", help="model name to record (default: SRC's file name)")
    p.set_defaults(func=run)


def run(args):
    from ..convert import summary
    from ..convert.matconvnet import convert_matconvnet
    from ..nets.weights import save_model

    model = convert_matconvnet(args.src, model_name=args.name)
    save_model(model, args.dst)
    print(summary(model, args.dst))
