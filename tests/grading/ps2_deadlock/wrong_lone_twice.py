# WRONG: a fork order, but a table for one has one fork, and it is taken twice.
def philosopher(table, i, meals):
    first, second = sorted((table.left(i), table.right(i)))  # the lower-numbered fork first
    for _ in range(meals):
        with table.forks[first], table.forks[second]:
            table.eat(i)
        table.think(i)
