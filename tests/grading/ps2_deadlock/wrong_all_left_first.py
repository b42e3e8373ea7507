# WRONG: every philosopher takes the left fork first, then the right: a circular wait.
def philosopher(table, i, meals):
    for _ in range(meals):
        with table.forks[table.left(i)], table.forks[table.right(i)]:
            table.eat(i)
        table.think(i)
