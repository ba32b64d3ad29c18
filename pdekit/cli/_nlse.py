"""``pdekit simulate nlse`` (filled in by the NLSE work)."""


def add_parser(subparsers):
    p = subparsers.add_parser("nlse", help="1D nonlinear Schrödinger equation (pseudo-spectral)")
    p.set_defaults(func=run)


def run(args):
    raise NotImplementedError
