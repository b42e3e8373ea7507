# WRONG: a correct depth-first search, but recursive: a long chain exceeds the recursion limit.
def find_cycle(graph):
    colour, path = {}, []

    def visit(node):
        colour[node] = "grey"
        path.append(node)
        for nxt in graph.get(node, ()):
            if colour.get(nxt) == "grey":
                return path[path.index(nxt):]
            if nxt not in colour:
                found = visit(nxt)
                if found:
                    return found
        colour[node] = "black"
        path.pop()
        return None

    for node in graph:
        if node not in colour:
            found = visit(node)
            if found:
                return found
    return None
