"""Stand-in BaseOperator: an operator made inside a @dag function becomes one of its tasks."""


class BaseOperator:
    def __init__(self, *, task_id, retries=None, **unexpected):
        # Airflow refuses arguments no operator in the chain declares ("Invalid arguments were passed").
        if unexpected:
            raise TypeError(f"Invalid arguments were passed to {type(self).__name__} (task_id: {task_id}): {sorted(unexpected)}")
        self.task_id, self.retries = task_id, retries
        from airflow.decorators import current_dag

        dag = current_dag()
        if dag is not None:
            dag["tasks"].append({"task_id": task_id, "fn": self.execute, "operator": type(self).__name__, "op": self})

    def execute(self, context=None):
        raise NotImplementedError(f"the stand-in {type(self).__name__} does not run (tests load the DAG only)")
