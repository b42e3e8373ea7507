# WRONG: one lock at a time (so it cannot deadlock): between the two, the money is in
# neither account, and whoever takes both locks then sees it missing.
def transfer(src, dst, amount):
    with src.lock:
        if src.balance < amount:
            raise ValueError(f"{src.name} has {src.balance}, cannot pay {amount}")
        if src is dst:
            return
        src.balance -= amount
    with dst.lock:
        dst.balance += amount
