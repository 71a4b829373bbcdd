"""The Python client against a real daemon: Python's names, values and exceptions."""

import os
import queue
import threading

import pytest

import syncmgr
from conftest import stat, wait_for


def test_dict_behaves_as_a_dict(manager):
    d = manager.dict("cfg")
    d["port"] = 8080
    d[(1, "a")] = [1, 2]
    d.update({"x": 1}, y=2)
    assert d["port"] == 8080 and d[(1, "a")] == [1, 2]
    assert len(d) == 4 and "x" in d and "nope" not in d
    assert d.get("nope") is None and d.get("nope", 3) == 3
    assert list(d) == ["port", (1, "a"), "x", "y"]
    assert d.items()[0] == ("port", 8080)
    with pytest.raises(KeyError) as e:
        d["nope"]
    assert e.value.args == ("nope",)
    with pytest.raises(KeyError):
        del d["nope"]
    assert d.pop("x") == 1 and d.pop("x", "gone") == "gone"
    assert d.setdefault("z", 5) == 5 and d.setdefault("z", 6) == 5
    assert d.popitem() == ("z", 5)
    assert d.increment("hits") == 1 and d.increment("hits", 2.5) == 3.5
    assert d.compare_and_set("port", 8080, 9090) and d["port"] == 9090
    with pytest.raises(TypeError):
        d[{"a": 1}] = 1  # unhashable, as in Python
    with pytest.raises(TypeError):
        d["s"] = {1, 2}  # not a msgpack value: refused before anything is sent
    with pytest.raises(OverflowError):
        d["big"] = 2**64
    d.clear()
    assert d.copy() == {}
    with pytest.raises(KeyError):
        d.popitem()


def test_list_behaves_as_a_list(manager):
    lst = manager.list("l", [3, 1, 2])
    lst.append(4)
    lst += [5]
    assert lst[:] == [3, 1, 2, 4, 5] and lst[-1] == 5 and lst[::2] == [3, 2, 5]
    lst[1:3] = ["a", "b", "c"]
    assert lst.copy() == [3, "a", "b", "c", 4, 5]
    del lst[1:4]
    lst.sort(reverse=True)
    assert list(lst) == [5, 4, 3]
    with pytest.raises(IndexError):
        lst[10]
    with pytest.raises(ValueError):
        lst.remove("absent")
    with pytest.raises(ValueError):
        lst[::2] = [1, 2, 3]  # extended slice of another length
    lst.append("x")
    with pytest.raises(TypeError):
        lst.sort()  # str and int are unorderable; the list is unchanged
    assert lst[:] == [5, 4, 3, "x"]
    assert lst.index(3) == 2 and lst.count(5) == 1 and lst.pop() == "x" and 4 in lst


def test_namespace_attribute_access(manager):
    ns = manager.Namespace("status", phase="init")
    assert ns.phase == "init"
    ns.phase = "running"
    ns.done = 0
    assert ns.increment("done") == 1 and ns.done == 1
    ns.name = "job"  # an attribute like any other
    assert ns.name == "job" and ns._name == "status"
    with pytest.raises(AttributeError):
        ns.missing
    del ns.done
    assert not ns.has("done")
    assert ns.attributes() == ["phase", "name"]
    assert ns.snapshot() == {"phase": "running", "name": "job"}
    with pytest.raises(AttributeError):
        ns.increment = 3  # a method name: use ns.set("increment", 3)
    ns.set("increment", 3)
    assert ns.get("increment") == 3
    assert ns.set_if_absent("phase", "x") is False
    assert ns.compare_and_set("phase", "running", "done") and ns.phase == "done"


def test_queue_exceptions_are_pythons(manager):
    q = manager.Queue("bounded", maxsize=1)
    with pytest.raises(queue.Empty):
        q.get_nowait()
    with pytest.raises(queue.Empty):
        q.get(timeout=0.05)
    q.put(1.0)
    with pytest.raises(queue.Full):
        q.put_nowait(2)
    with pytest.raises(queue.Full):
        q.put(2, timeout=0.05)
    assert q.full() and q.qsize() == 1 and q.maxsize == 1
    item = q.get()
    assert item == 1.0 and type(item) is float
    with pytest.raises(ValueError):
        q.get(timeout=-1)
    q.shutdown()
    with pytest.raises(syncmgr.ShutDown):
        q.put(1)


def test_joinable_queue(manager):
    q = manager.JoinableQueue("jobs")
    q.put_many(["a", "b"])
    assert q.get_many(5) == ["a", "b"]
    assert q.join(timeout=0.05) is False
    q.task_done()
    q.task_done()
    assert q.join() is None
    with pytest.raises(ValueError):
        q.task_done()


def test_locks_and_conditions(manager):
    lock = manager.Lock("l")
    with lock:
        assert lock.locked() and lock.owned()
    assert not lock.locked()
    with pytest.raises(RuntimeError):
        lock.release()
    with pytest.raises(ValueError):
        lock.acquire(False, 1)
    t1 = lock.acquire_fenced()
    lock.release()
    assert lock.acquire_fenced() > t1
    lock.release()

    r = manager.RLock("r")
    with r:
        with r:
            assert r.owned()
    got = []
    other = threading.Thread(target=lambda: got.append(r.acquire(timeout=0.05)))
    with r:
        other.start()
        other.join()
    assert got == [False]  # another thread of this process is another owner

    cond = manager.Condition("c", lock=r)
    with pytest.raises(RuntimeError):
        cond.notify()
    box = manager.Value("box", 0)
    result = []

    def waiter():
        with cond:
            result.append(cond.wait_for(lambda: box.value == 1, timeout=60))

    w = threading.Thread(target=waiter)
    w.start()
    wait_for(lambda: stat(manager, "parked_calls") >= 1, what="the waiter to park")
    with cond:
        box.value = 1
        cond.notify_all()
    w.join(60)
    assert result == [True]
    with cond:
        assert cond.wait(0.05) is False


def test_semaphores_events_barriers_values_arrays(manager):
    s = manager.Semaphore("s", 2)
    assert s.acquire() and s.acquire() and s.acquire(timeout=0.05) is False
    s.release(2)
    assert s.get_value() == 2
    b = manager.BoundedSemaphore("b", 1)
    with pytest.raises(ValueError):
        b.release()
    with b:
        assert b.get_value() == 0

    e = manager.Event("e")
    assert e.wait(0.05) is False
    e.set()
    assert e.is_set() and e.wait()

    ran = []
    bar = manager.Barrier("bar", 2, action=lambda: ran.append(1))
    indexes = []
    t = threading.Thread(target=lambda: indexes.append(bar.wait(60)))
    t.start()
    indexes.append(bar.wait(60))
    t.join()
    assert sorted(indexes) == [0, 1] and ran == [1]
    with pytest.raises(threading.BrokenBarrierError):
        bar.wait(0.05)  # alone: times out, and that breaks it
    assert bar.broken
    bar.reset()
    assert not bar.broken and bar.parties == 2

    v = manager.Value("v", 1)
    assert v.add(2) == 3 and v.get() == 3
    v.value = [1, "x"]
    assert v.value == [1, "x"]
    a = manager.Array("a", [0.0] * 4)
    a[1] = 2.5
    a[2:4] = [7, 8]
    assert len(a) == 4 and a.tolist() == [0.0, 2.5, 7, 8]
    with pytest.raises(ValueError):
        a[0:2] = [1]  # an array's length is fixed
    with pytest.raises(IndexError):
        a[4]


def test_object_errors(manager):
    manager.dict("taken")
    with pytest.raises(TypeError):
        manager.list("taken")
    manager.remove("taken")
    with pytest.raises(NameError):
        manager.remove("taken")
    names = [o["name"] for o in manager.objects()]
    assert "taken" not in names
    assert manager.ping() == "pong"


def test_unnamed_dict_and_list_as_pythons_manager_makes_them(manager):
    d = manager.dict({"a": 1})
    lst = manager.list([1, 2])
    assert d.name.startswith("~") and d.copy() == {"a": 1}
    assert lst.name.startswith("~") and lst.copy() == [1, 2]


def test_temporary_objects_are_released_with_their_last_proxy(manager):
    d = manager.dict()
    name = d.name
    assert name.startswith("~")
    assert any(o["name"] == name for o in manager.objects())
    del d
    wait_for(lambda: not any(o["name"] == name for o in manager.objects()),
             what="the temporary to be freed")


def test_threads_share_one_manager(manager):
    d = manager.dict("counts")
    q = manager.Queue("work")

    def worker():
        while True:
            item = q.get(timeout=60)
            if item is None:
                return
            d.increment(item % 4)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for i in range(200):
        q.put(i)
    for _ in threads:
        q.put(None)
    for t in threads:
        t.join(60)
    assert sorted(d.values()) == [50, 50, 50, 50]


def test_forked_child_gets_its_own_session(manager):
    d = manager.dict("forked")
    lock = manager.Lock("forked-lock")
    lock.acquire()
    pid = os.fork()
    if pid == 0:
        try:
            # Another session: the parent's lock is not this process's.
            ok = lock.acquire(timeout=0.05) is False and not lock.owned()
            d["child"] = os.getpid()
            os._exit(0 if ok else 1)
        except BaseException:
            os._exit(2)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert d["child"] == pid
    lock.release()


def test_forked_child_holds_inherited_temporaries(manager):
    # The child's session holds the temporaries its inherited proxies name (as Python's managers
    # incref in the child): the parent letting go does not free them under the child.
    d = manager.dict()
    to_parent_r, to_parent_w = os.pipe()
    to_child_r, to_child_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 2
        try:
            d["child"] = 1  # the first call: a new session, which holds d first
            os.write(to_parent_w, b"1")
            os.read(to_child_r, 1)
            code = 0 if d["child"] == 1 else 1
            manager.close()  # ends the child's session now (os._exit runs no atexit)
        finally:
            os._exit(code)
    try:
        assert os.read(to_parent_r, 1) == b"1"
        name = d.name
        del d
        manager.ping()  # the release went out with or before this call: the daemon has it
        assert any(o["name"] == name for o in manager.objects())
    finally:
        os.write(to_child_w, b"1")
        _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    # The child's session ended (its process exited): nobody holds it any more.
    wait_for(lambda: not any(o["name"] == name for o in manager.objects()),
             what="the temporary to be freed")
