"""``pdekit simulate poisson`` (filled in by the FEM work)."""


def add_parser(subparsers):
    p = subparsers.add_parser("poisson", help="Poisson/Darcy problem with finite elements")
    p.set_defaults(func=run)


def run(args):
    raise NotImplementedError
