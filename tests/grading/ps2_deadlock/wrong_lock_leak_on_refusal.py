# WRONG: the locks are taken and released by hand, and a refusal raises between the two:
# the locks stay held, and the next transfer between these accounts waits forever.
def transfer(src, dst, amount):
    if src is dst:
        with src.lock:
            if src.balance < amount:
                raise ValueError(f"{src.name} has {src.balance}, cannot pay {amount}")
        return
    first, second = sorted((src, dst), key=lambda account: account.number)
    first.lock.acquire()
    second.lock.acquire()
    if src.balance < amount:
        raise ValueError(f"{src.name} has {src.balance}, cannot pay {amount}")
    src.balance -= amount
    dst.balance += amount
    second.lock.release()
    first.lock.release()
