# WRONG: one "seen" set instead of grey and black: reaching any node seen before is taken
# for a cycle, so a diamond (d reached twice) is reported as one.
def find_cycle(graph):
    seen = set()
    for root in graph:
        if root in seen:
            continue
        seen.add(root)
        path, position = [root], {root: 0}
        todo = [iter(graph.get(root, ()))]
        while todo:
            for nxt in todo[-1]:
                if nxt in seen:  # been here before: a cycle
                    return path[position.get(nxt, 0):]
                seen.add(nxt)
                position[nxt] = len(path)
                path.append(nxt)
                todo.append(iter(graph.get(nxt, ())))
                break
            else:
                todo.pop()
                del position[path.pop()]
    return None
