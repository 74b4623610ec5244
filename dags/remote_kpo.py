"""Run one pod on the remote EKS cluster with EksPodOperator.

The task assumes the IAM role named in the Airflow connection (CONN_ID) through the Deployment's
workload identity, builds a kubeconfig for the cluster with an EKS token, starts a small public
image in NAMESPACE, streams its logs into the task log and deletes the pod when it finishes. When
init gave the task pods an AWS identity of their own (POD_SERVICE_ACCOUNT), the pod runs as that
ServiceAccount, so AWS calls made inside it are the pods' role POD_ROLE_NAME.

Written by astro-remote-kpo: the defaults block below holds the names chosen at `init`.
Run test_eks_connectivity first: it checks that everything this file imports is installed, then
walks the same path (the connection's role, DescribeCluster, the kubeconfig
EksHook.generate_config_file builds). The image needs apache-airflow-providers-amazon (9.30.0 or
newer on Airflow 3 and 2.11, for this cross-account setup) and apache-airflow-providers-cncf-kubernetes,
which the operator module imports: Astro Runtime 3.x and slim images ship neither, and init adds
the lines to requirements.txt (see docs/provider-floor.md).
"""

from __future__ import annotations

from datetime import datetime, timezone

# --- astro-remote-kpo defaults (rewritten by `npx astro-remote-kpo init`) ---
CLUSTER_NAME = "remote-kpo-demo"
REGION = "us-east-1"
NAMESPACE = "astro-remote-kpo"
CONN_ID = "aws_eks"
# The task pods' own AWS identity (init --pod-policy-arn): their ServiceAccount and IAM role name.
# Both "" when init gave the pods none; then the pod runs as the namespace's default ServiceAccount.
POD_SERVICE_ACCOUNT = ""
POD_ROLE_NAME = ""
# --- end of astro-remote-kpo defaults ---

try:  # Airflow 3: the Task SDK
    from airflow.sdk import dag
except ImportError:  # Airflow 2
    from airflow.decorators import dag

from airflow.providers.amazon.aws.operators.eks import EksPodOperator

# ECR Public's mirror of the Docker official image: small, public, no Docker Hub rate limit.
IMAGE = "public.ecr.aws/docker/library/busybox:1.36"

# Run as the pods' ServiceAccount when there is one: IRSA or EKS Pod Identity then gives the pod
# POD_ROLE_NAME (test_eks_connectivity's pod_identity task checks it). Without one, nothing is
# passed and KubernetesPodOperator leaves the pod to the namespace's default ServiceAccount.
POD_IDENTITY = {"service_account_name": POD_SERVICE_ACCOUNT} if POD_SERVICE_ACCOUNT else {}


@dag(
    dag_id="remote_kpo",
    schedule=None,
    start_date=datetime(2024, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    tags=["astro-remote-kpo", "eks"],
    doc_md=__doc__,
)
def remote_kpo():
    EksPodOperator(
        task_id="hello_remote_pod",
        cluster_name=CLUSTER_NAME,
        region=REGION,
        aws_conn_id=CONN_ID,
        namespace=NAMESPACE,
        # A random suffix is added, so concurrent runs never collide.
        pod_name="remote-kpo-hello",
        image=IMAGE,
        cmds=["sh", "-c"],
        arguments=[
            'echo "Hello from pod $(hostname) on EKS cluster $CLUSTER_NAME, namespace $NAMESPACE"; '
            "uname -a; date -u"
        ],
        env_vars={"CLUSTER_NAME": CLUSTER_NAME, "NAMESPACE": NAMESPACE},
        labels={"app.kubernetes.io/managed-by": "airflow", "app.kubernetes.io/part-of": "astro-remote-kpo"},
        get_logs=True,
        # Delete the pod whatever its outcome: the namespace stays clean.
        on_finish_action="delete_pod",
        # Nodes may need to pull the image and scale up on a fresh cluster.
        startup_timeout_seconds=600,
        # Deferred, the triggerer (another host on Astro) cannot read the credentials file the
        # worker wrote for the token helper (apache/airflow#61736), so wait in the worker.
        deferrable=False,
        **POD_IDENTITY,
    )


remote_kpo()
