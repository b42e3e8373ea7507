"""One test class per assignment, so that xdist (--dist loadscope) spreads
the assignments over its workers instead of running them all on one."""
from tools.assignments import assignments


def per_assignment(base: type, prefix: str) -> dict[str, type]:
    """{TestPrefix_<assignment>: subclass of base with name=<assignment>} for every assignment."""
    return {f"{prefix}_{a}": type(f"{prefix}_{a}", (base,), {"name": a}) for a in assignments()}
