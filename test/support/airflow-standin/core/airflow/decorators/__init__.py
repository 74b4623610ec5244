"""Stand-in @dag/@task: records each task and the `a >> b` edges between them."""
import functools

DAGS = []


class _Ref:
    def __init__(self, task, dag):
        self.task, self.dag = task, dag

    def __rshift__(self, other):
        self.dag["edges"].append((self.task["task_id"], other.task["task_id"]))
        return other


_building = []


def current_dag():
    """The DAG whose function is running (operators made there become its tasks), or None."""
    return _building[-1] if _building else None


def task(fn=None, *, task_id=None, **_kwargs):
    def wrap(f):
        @functools.wraps(f)
        def call():
            dag = _building[-1]
            t = {"task_id": task_id or f.__name__, "fn": f}
            dag["tasks"].append(t)
            return _Ref(t, dag)

        return call

    return wrap(fn) if fn is not None else wrap


def dag(dag_id=None, **_kwargs):
    def wrap(f):
        @functools.wraps(f)
        def build():
            record = {"dag_id": dag_id or f.__name__, "tasks": [], "edges": []}
            _building.append(record)
            try:
                f()
            finally:
                _building.pop()
            DAGS.append(record)
            return record

        return build

    return wrap
