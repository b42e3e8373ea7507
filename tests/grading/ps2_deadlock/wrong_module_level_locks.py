# WRONG: the two locks are made once, when the cell runs, not by each call.
lock_a, lock_b = threading.Lock(), threading.Lock()


def build_deadlock():
    both_hold_one = threading.Barrier(2)

    def take(first, second):
        with first:
            both_hold_one.wait()
            with second:
                pass

    t1 = threading.Thread(target=take, args=(lock_a, lock_b), daemon=True)
    t2 = threading.Thread(target=take, args=(lock_b, lock_a), daemon=True)
    t1.start()
    t2.start()
    return t1, t2, lock_a, lock_b
