# WRONG: never waits for the second fork: when it is taken, the philosopher skips that meal.
def philosopher(table, i, meals):
    forks = [table.forks[k] for k in sorted({table.left(i), table.right(i)})]
    for _ in range(meals):
        with forks[0]:
            if len(forks) == 1:
                table.eat(i)
            elif forks[1].acquire(blocking=False):
                try:
                    table.eat(i)
                finally:
                    forks[1].release()
            # else: the neighbour has it; rather than wait, skip this meal
        table.think(i)
