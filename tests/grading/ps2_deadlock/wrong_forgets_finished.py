# WRONG: an iterative depth-first search that forgets finished nodes: it explores a node again
# on every path that reaches it (2 ** 40 paths through a stack of 40 diamonds).
def find_cycle(graph):
    for root in graph:
        path, position = [root], {root: 0}
        todo = [iter(graph.get(root, ()))]
        while todo:
            for nxt in todo[-1]:
                if nxt in position:
                    return path[position[nxt]:]
                position[nxt] = len(path)
                path.append(nxt)
                todo.append(iter(graph.get(nxt, ())))
                break
            else:
                todo.pop()
                del position[path.pop()]
    return None
