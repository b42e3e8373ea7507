# WRONG: the deadlock depends on a nap being long enough: usually it is, but not always.
def build_deadlock():
    lock_a, lock_b = threading.Lock(), threading.Lock()

    def take(first, second):
        with first:
            time.sleep(0.05)  # "long enough" for the other thread to take its first lock
            with second:
                pass

    t1 = threading.Thread(target=take, args=(lock_a, lock_b), daemon=True)
    t2 = threading.Thread(target=take, args=(lock_b, lock_a), daemon=True)
    t1.start()
    t2.start()
    return t1, t2, lock_a, lock_b
