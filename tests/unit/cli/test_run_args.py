from headwater.cli import build_parser


def test_run_parameters_are_name_value_pairs() -> None:
    args = build_parser().parse_args(["run", "f.yaml", "-p", "out=/tmp/x", "-p", "hot=30"])
    assert dict(args.parameter) == {"out": "/tmp/x", "hot": "30"}
    assert args.api == "127.0.0.1:8080"
