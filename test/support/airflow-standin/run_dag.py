"""Run a DAG file's tasks in their `>>` order with the stand-in airflow package (tests only).

Usage: python3 run_dag.py DAG_FILE. Logs go to stdout; the last line is
`RESULT {"task_id": "success" | "failed" | "upstream_failed", ...}`.
"""
import importlib.util
import json
import logging
import sys

logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(levelname)s %(name)s: %(message)s")
spec = importlib.util.spec_from_file_location("dag_under_test", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)

from airflow.decorators import DAGS  # noqa: E402 - the DAG file registers into it

dag = DAGS[-1]
upstream = {t["task_id"]: [a for a, b in dag["edges"] if b == t["task_id"]] for t in dag["tasks"]}
state = {}
pending = list(dag["tasks"])
while pending:
    ready = [t for t in pending if all(u in state for u in upstream[t["task_id"]])]
    for t in ready:
        pending.remove(t)
        if any(state[u] != "success" for u in upstream[t["task_id"]]):
            state[t["task_id"]] = "upstream_failed"
            continue
        try:
            t["fn"]()
            state[t["task_id"]] = "success"
        except Exception as err:  # noqa: BLE001 - a task failure, as Airflow records it
            logging.getLogger("run_dag").error("task %s failed: %s: %s", t["task_id"], type(err).__name__, err)
            state[t["task_id"]] = "failed"
print("RESULT " + json.dumps(state))
