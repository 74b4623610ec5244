"""Stand-in EksPodOperator. Like the real module, it imports the cncf.kubernetes provider at its
top, so without that provider importing it fails exactly as it does in a real image."""
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator


class EksPodOperator(KubernetesPodOperator):
    def __init__(
        self,
        cluster_name,
        in_cluster=False,
        namespace="default",
        pod_name=None,
        aws_conn_id="aws_default",
        region=None,
        on_finish_action=None,
        **kwargs,
    ):
        self.cluster_name, self.aws_conn_id, self.region = cluster_name, aws_conn_id, region
        if on_finish_action is not None:
            kwargs["on_finish_action"] = on_finish_action
        super().__init__(in_cluster=in_cluster, namespace=namespace, name=pod_name, **kwargs)
