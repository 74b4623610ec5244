"""Stand-in Task SDK (Airflow 3): present only with STANDIN_AIRFLOW_SDK=1, else an ImportError as on
Airflow 2, so the DAG's fallback imports are exercised both ways."""
import os

if os.environ.get("STANDIN_AIRFLOW_SDK") != "1":
    raise ImportError("airflow.sdk: not in this (Airflow 2) stand-in")

import logging  # noqa: E402

from airflow.decorators import dag, task  # noqa: E402,F401
from airflow.models.baseoperator import BaseOperator  # noqa: E402,F401
from airflow.hooks.base import BaseHook as _Airflow2BaseHook  # noqa: E402


class BaseHook(_Airflow2BaseHook):
    @classmethod
    def get_connection(cls, conn_id):
        logging.getLogger("airflow.sdk").info("stand-in Task SDK: get_connection(%r)", conn_id)
        return super().get_connection(conn_id)
