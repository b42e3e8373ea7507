# WRONG: looks only for self-loops and pairs of threads waiting for each other.
def find_cycle(graph):
    for u, vs in graph.items():
        for v in vs:
            if v == u:
                return [u]
            if u in set(graph.get(v, ())):
                return [u, v]
    return None
