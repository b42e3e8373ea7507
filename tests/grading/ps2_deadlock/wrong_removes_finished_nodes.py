# WRONG: remembers a finished node by deleting it from the caller's graph (correct answers,
# linear time, but the graph is gone afterwards, and a read-only mapping raises).
def find_cycle(graph):
    for root in list(graph):
        if root not in graph:  # finished already
            continue
        path, position = [root], {root: 0}
        todo = [iter(graph.get(root, ()))]
        while todo:
            for nxt in todo[-1]:
                if nxt in position:
                    return path[position[nxt]:]
                if nxt in graph:  # not finished yet: go deeper
                    position[nxt] = len(path)
                    path.append(nxt)
                    todo.append(iter(graph.get(nxt, ())))
                    break
            else:
                todo.pop()
                node = path.pop()
                del position[node]
                graph.pop(node, None)  # finished: nothing to find there any more
    return None
