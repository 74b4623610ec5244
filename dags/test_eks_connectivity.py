"""Check each link of the chain EksPodOperator relies on, and log PASS/FAIL per link.

1. assume_role        the connection CONN_ID assumes its role_arn through the Deployment's
                      workload identity (STS GetCallerIdentity shows an assumed-role ARN)
2. describe_cluster   that role may call eks:DescribeCluster on CLUSTER_NAME
3. kubernetes_access  an EKS token for that role is accepted by the cluster's API server, and
                      the Kubernetes user it maps to may list pods in NAMESPACE and has every
                      permission KubernetesPodOperator needs there (SelfSubjectAccessReview)

The tasks run in that order and stop at the first broken link. Written by astro-remote-kpo:
the defaults block below holds the names chosen at `init`.
"""

from __future__ import annotations

import base64
import logging
import os
import tempfile
from datetime import datetime, timezone

# --- astro-remote-kpo defaults (rewritten by `npx astro-remote-kpo init`) ---
CLUSTER_NAME = "remote-kpo-demo"
REGION = "us-east-1"
NAMESPACE = "astro-remote-kpo"
CONN_ID = "aws_eks"
# --- end of astro-remote-kpo defaults ---

try:  # Airflow 3: the Task SDK
    from airflow.sdk import dag, task
except ImportError:  # Airflow 2
    from airflow.decorators import dag, task

log = logging.getLogger(__name__)

# What KubernetesPodOperator does in its namespace (the cncf.kubernetes provider's RBAC docs).
KPO_PERMISSIONS = [
    ("pods", "", "create"),
    ("pods", "", "get"),
    ("pods", "", "list"),
    ("pods", "", "watch"),
    ("pods", "", "patch"),
    ("pods", "", "delete"),
    ("pods", "log", "get"),
    ("pods", "exec", "create"),
    ("pods", "exec", "get"),
    ("events", "", "list"),
    ("events", "", "watch"),
]


def _session():
    """A boto3 session for the connection: it assumes the connection's role_arn."""
    from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook

    return AwsBaseHook(aws_conn_id=CONN_ID, region_name=REGION).get_session(region_name=REGION)


def _report(link: str, ok: bool, detail: str) -> None:
    """Log the link's verdict; a FAIL also fails the task, so later links do not run."""
    line = f"[{'PASS' if ok else 'FAIL'}] {link}: {detail}"
    if not ok:
        log.error(line)
        raise RuntimeError(line)
    log.info(line)


def _eks_token(session, cluster_name: str) -> str:
    """The token `aws eks get-token` prints: a presigned STS GetCallerIdentity URL, base64url-encoded."""
    from botocore.signers import RequestSigner

    # EKS only accepts tokens signed for the regional STS endpoint.
    previous = os.environ.get("AWS_STS_REGIONAL_ENDPOINTS")
    os.environ["AWS_STS_REGIONAL_ENDPOINTS"] = "regional"
    try:
        sts = session.client("sts", region_name=REGION)
    finally:
        if previous is None:
            del os.environ["AWS_STS_REGIONAL_ENDPOINTS"]
        else:
            os.environ["AWS_STS_REGIONAL_ENDPOINTS"] = previous
    signer = RequestSigner(
        sts.meta.service_model.service_id,
        REGION,
        "sts",
        "v4",
        session.get_credentials(),
        session.events,
    )
    url = signer.generate_presigned_url(
        {
            "method": "GET",
            "url": f"{sts.meta.endpoint_url}/?Action=GetCallerIdentity&Version=2011-06-15",
            "body": {},
            "headers": {"x-k8s-aws-id": cluster_name},
            "context": {},
        },
        region_name=REGION,
        expires_in=60,
        operation_name="",
    )
    return "k8s-aws-v1." + base64.urlsafe_b64encode(url.encode("utf-8")).decode("utf-8").rstrip("=")


@dag(
    dag_id="test_eks_connectivity",
    schedule=None,
    start_date=datetime(2024, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    tags=["astro-remote-kpo", "eks"],
    doc_md=__doc__,
)
def test_eks_connectivity():
    @task
    def assume_role() -> str:
        from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook

        wanted = None
        try:
            wanted = AwsBaseHook(aws_conn_id=CONN_ID).conn_config.role_arn
            arn = _session().client("sts").get_caller_identity()["Arn"]
        except Exception as err:  # noqa: BLE001 - every failure is a FAIL for this link
            _report("assume_role", False, f"connection {CONN_ID!r} could not assume {wanted!r}: {err}")
            raise  # unreachable: _report raised; keeps `arn` bound for readers and linters
        role_name = (wanted or "").rsplit("/", 1)[-1]
        ok = ":assumed-role/" in arn and (not role_name or f":assumed-role/{role_name}/" in arn)
        _report("assume_role", ok, f"caller is {arn} (connection role_arn {wanted!r})")
        return arn

    @task
    def describe_cluster() -> str:
        try:
            cluster = _session().client("eks").describe_cluster(name=CLUSTER_NAME)["cluster"]
        except Exception as err:  # noqa: BLE001
            _report("describe_cluster", False, f"eks:DescribeCluster on {CLUSTER_NAME!r} failed: {err}")
            raise  # unreachable: _report raised
        ok = cluster.get("status") == "ACTIVE"
        _report("describe_cluster", ok, f"cluster {CLUSTER_NAME} is {cluster.get('status')} at {cluster.get('endpoint')}")
        return cluster["endpoint"]

    @task
    def kubernetes_access() -> dict:
        from kubernetes import client as k8s

        session = _session()
        cluster = session.client("eks").describe_cluster(name=CLUSTER_NAME)["cluster"]
        token = _eks_token(session, CLUSTER_NAME)
        with tempfile.NamedTemporaryFile("wb", suffix=".crt") as ca:
            ca.write(base64.b64decode(cluster["certificateAuthority"]["data"]))
            ca.flush()
            cfg = k8s.Configuration()
            cfg.host = cluster["endpoint"]
            cfg.ssl_ca_cert = ca.name
            api = k8s.ApiClient(cfg, header_name="Authorization", header_value=f"Bearer {token}")
            try:
                pods = k8s.CoreV1Api(api).list_namespaced_pod(NAMESPACE, limit=5)
            except Exception as err:  # noqa: BLE001
                _report("kubernetes_access", False, f"listing pods in namespace {NAMESPACE!r} failed: {err}")
                raise  # unreachable: _report raised
            _report("kubernetes_access", True, f"listed {len(pods.items)} pod(s) in namespace {NAMESPACE}")

            authz = k8s.AuthorizationV1Api(api)
            results = {}
            for resource, subresource, verb in KPO_PERMISSIONS:
                attrs = k8s.V1ResourceAttributes(
                    namespace=NAMESPACE, resource=resource, subresource=subresource or None, verb=verb
                )
                review = authz.create_self_subject_access_review(
                    k8s.V1SelfSubjectAccessReview(spec=k8s.V1SelfSubjectAccessReviewSpec(resource_attributes=attrs))
                )
                name = f"{verb} {resource}{'/' + subresource if subresource else ''}"
                results[name] = bool(review.status.allowed)
                log.info("[%s] can %s in %s", "PASS" if results[name] else "FAIL", name, NAMESPACE)
        denied = [name for name, allowed in results.items() if not allowed]
        _report(
            "kubernetes_permissions",
            not denied,
            "every permission KubernetesPodOperator needs is granted" if not denied else f"denied: {', '.join(denied)}",
        )
        return results

    assume_role() >> describe_cluster() >> kubernetes_access()


test_eks_connectivity()
