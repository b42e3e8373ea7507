# WRONG: picks up both forks once and keeps them for the whole dinner.
def philosopher(table, i, meals):
    forks = [table.forks[k] for k in sorted({table.left(i), table.right(i)})]
    for fork in forks:
        fork.acquire()
    try:
        for _ in range(meals):
            table.eat(i)
            table.think(i)
    finally:
        for fork in reversed(forks):
            fork.release()
