"""``convert-weights SRC DST.h5``: a MatConvNet SimpleNN model, or a Caffe
model with ``--prototxt``, -> our HDF5 weights."""


def register(sub):
    p = sub.add_parser("convert-weights",
                       help="convert a MatConvNet .mat model (e.g. "
                            "imagenet-vgg-verydeep-16.mat) or a Caffe .caffemodel "
                            "(with --prototxt) into our HDF5 weights")
    p.add_argument("src", help="MatConvNet SimpleNN .mat file (v5, v7 or v7.3), or a "
                               "Caffe .caffemodel")
    p.add_argument("dst", help="HDF5 weights file to write")
    p.add_argument("--name", help="model name to record (default: SRC's file name)")
    p.add_argument("--prototxt", help="the Caffe model's deploy.prototxt: SRC is then "
                                      "its .caffemodel")
    p.add_argument("--labels", help="Caffe: class names, one a line in output order "
                                    "(synset_words.txt or Places' categoryIndex csv; "
                                    "default: ImageNet's for a 1000-way net)")
    p.set_defaults(func=run)


def run(args):
    from ..convert import summary
    from ..nets.weights import save_model

    from ..fileio import check_output
    check_output(args.dst, [args.src, args.prototxt], option="DST")
    if args.prototxt or args.src.endswith(".caffemodel"):
        from ..convert.caffe import convert_caffe
        from ..errors import UserError
        if not args.prototxt:
            raise UserError("%s: a Caffe model needs its deploy.prototxt: add "
                            "--prototxt deploy.prototxt" % args.src)
        model = convert_caffe(args.src, args.prototxt, model_name=args.name,
                              labels=args.labels)
    else:
        from ..convert.matconvnet import convert_matconvnet
        model = convert_matconvnet(args.src, model_name=args.name)
    save_model(model, args.dst)
    print(summary(model, args.dst))
