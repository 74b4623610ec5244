"""Run a DAG file's tasks in their `>>` order with the stand-in airflow package (tests only).

Usage: python3 run_dag.py DAG_FILE [--list] [--all]. Logs go to stdout; the last line is
`RESULT {"task_id": "success" | "failed" | "upstream_failed", ...}`. --list only loads the file and
prints `TASKS [{"task_id": ..., "operator": ...}]`, pod operators with their `service_account_name`.
--all runs every task even after a failure (as `airflow tasks test` runs one task alone), so a test
sees how each task fails on its own.
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
from airflow.hooks.base import TASK_SDK_CHANNEL  # noqa: E402

dag = DAGS[-1]
if "--list" in sys.argv:
    def listed(t):
        entry = {"task_id": t["task_id"], "operator": t.get("operator", "@task")}
        if hasattr(t.get("op"), "service_account_name"):  # what the pod would run as (None: the default)
            entry["service_account_name"] = t["op"].service_account_name
        return entry

    print("TASKS " + json.dumps([listed(t) for t in dag["tasks"]]))
    sys.exit(0)

# The tasks run in this process: on Airflow 3 it is the one with the Task SDK channel.
TASK_SDK_CHANNEL["open"] = True
run_all = "--all" in sys.argv
upstream = {t["task_id"]: [a for a, b in dag["edges"] if b == t["task_id"]] for t in dag["tasks"]}
state = {}
pending = list(dag["tasks"])
while pending:
    ready = [t for t in pending if all(u in state for u in upstream[t["task_id"]])]
    for t in ready:
        pending.remove(t)
        if not run_all and any(state[u] != "success" for u in upstream[t["task_id"]]):
            state[t["task_id"]] = "upstream_failed"
            continue
        try:
            t["fn"]()
            state[t["task_id"]] = "success"
        except Exception as err:  # noqa: BLE001 - a task failure, as Airflow records it
            logging.getLogger("run_dag").error("task %s failed: %s: %s", t["task_id"], type(err).__name__, err)
            state[t["task_id"]] = "failed"
print("RESULT " + json.dumps(state))
