"""Check each link of the chain EksPodOperator relies on, the way the operator walks it.

0. check_versions     log the Airflow and provider versions; warn below the Amazon provider
                      floor (known EksPodOperator token bugs, see AMAZON_PROVIDER_FLOOR)
1. assume_role        the connection CONN_ID exists, has a role_arn, and the session it gives is
                      exactly that role (GetCallerIdentity: assumed-role/<role name>/...)
2. describe_cluster   that role may call eks:DescribeCluster on CLUSTER_NAME
3. kubernetes_access  a kubeconfig built like EksPodOperator builds it (EksHook.generate_config_file,
                      whose exec plugin runs the provider's eks_get_token) is accepted by the
                      cluster: list pods in NAMESPACE, then every permission KubernetesPodOperator
                      needs there (SelfSubjectAccessReview)

The tasks run in that order and stop at the first broken link. Written by astro-remote-kpo:
the defaults block below holds the names chosen at `init`.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import logging
import os
import re
import shlex
import tempfile
from datetime import datetime, timezone

# --- astro-remote-kpo defaults (rewritten by `npx astro-remote-kpo init`) ---
CLUSTER_NAME = "remote-kpo-demo"
REGION = "us-east-1"
NAMESPACE = "astro-remote-kpo"
CONN_ID = "aws_eks"
ROLE_ARN = "arn:aws:iam::123456789012:role/AstroRemoteKPO"
# --- end of astro-remote-kpo defaults ---

# Lowest apache-airflow-providers-amazon whose EksPodOperator works cross-account on Airflow 3
# and 2.11 (apache/airflow #50771 fixed in 9.9.0, #53578 in 9.13.0, #64657 in 9.30.0).
AMAZON_PROVIDER_FLOOR = "9.30.0"

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

ROLE_ARN_RE = re.compile(r"^arn:(aws[a-z-]*):iam::(\d{12}):role/(?:[^/]+/)*([\w+=,.@-]+)$")


class LinkFailed(Exception):
    """A broken link: the task fails and the later links do not run."""


def _report(link: str, ok: bool, detail: str) -> None:
    line = f"[{'PASS' if ok else 'FAIL'}] {link}: {detail}"
    if not ok:
        log.error(line)
        raise LinkFailed(line)
    log.info(line)


def _connection_command(verb: str) -> str:
    """The astro CLI command that creates (or fixes) the connection on this Deployment."""
    extra = json.dumps({"region_name": REGION, "role_arn": ROLE_ARN}, separators=(",", ":"))
    deployment = os.environ.get("ASTRO_DEPLOYMENT_ID")
    dep = shlex.quote(deployment) if deployment else '"$DEPLOYMENT_ID"'
    cmd = (
        f"astro deployment connection {verb} --deployment-id {dep} --conn-id {shlex.quote(CONN_ID)} "
        f"--conn-type aws --extra {shlex.quote(extra)}"
    )
    where = "" if deployment else " (DEPLOYMENT_ID: this Deployment's id, from `astro deployment list`)"
    return (
        f"`{cmd}`{where}; or `npx astro-remote-kpo init --astro-deployment-id ...` does it. "
        "Locally (`astro dev`), init writes it into airflow_settings.yaml; then `astro dev restart`."
    )


def _get_connection(conn_id: str):
    try:
        from airflow.sdk import BaseHook
    except ImportError:
        from airflow.hooks.base import BaseHook
    return BaseHook.get_connection(conn_id)


def _is_not_found(err: Exception) -> bool:
    # Airflow 2 raises AirflowNotFoundException; early Task SDK versions an error naming CONNECTION_NOT_FOUND.
    text = f"{type(err).__name__} {err!r} {err}"
    return "NotFound" in type(err).__name__ or "CONNECTION_NOT_FOUND" in text or "isn't defined" in text


def _aws_client(service: str):
    """A client from the connection, as the operator's hooks make them (AssumeRole of role_arn)."""
    if service == "eks":
        from airflow.providers.amazon.aws.hooks.eks import EksHook

        return EksHook(aws_conn_id=CONN_ID, region_name=REGION).conn
    from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook

    return AwsBaseHook(aws_conn_id=CONN_ID, client_type=service, region_name=REGION).get_conn()


def _version_tuple(v: str) -> tuple:
    return tuple(int(p) for p in re.findall(r"\d+", v)[:3])


def _dist_version(dist: str, module: str) -> str | None:
    try:
        from importlib.metadata import version

        return version(dist)
    except Exception:  # noqa: BLE001 - not installed as a distribution: ask the module
        try:
            return getattr(__import__(module, fromlist=["__version__"]), "__version__", None)
        except ImportError:
            return None


def check_versions() -> dict:
    """Log the versions that decide how EksPodOperator mints its token; warn below the floor."""
    import airflow

    found = {
        "airflow": getattr(airflow, "__version__", None),
        "apache-airflow-providers-amazon": _dist_version("apache-airflow-providers-amazon", "airflow.providers.amazon"),
        "apache-airflow-providers-cncf-kubernetes": _dist_version(
            "apache-airflow-providers-cncf-kubernetes", "airflow.providers.cncf.kubernetes"
        ),
    }
    log.info("versions: %s", ", ".join(f"{k} {v or 'not found'}" for k, v in found.items()))
    af, amazon = found["airflow"], found["apache-airflow-providers-amazon"]
    needs_floor = af is not None and _version_tuple(af) >= (2, 11)
    if amazon is None:
        log.warning("[WARN] apache-airflow-providers-amazon is not installed: EksPodOperator (remote_kpo) cannot import")
    elif needs_floor and _version_tuple(amazon) < _version_tuple(AMAZON_PROVIDER_FLOOR):
        log.warning(
            "[WARN] apache-airflow-providers-amazon %s is below %s: on Airflow %s its EksPodOperator token helper "
            "can fail (apache/airflow #50771, #53578 on Airflow 3; #64657 cross-account 401), so remote_kpo may get "
            "401 while these checks pass. Add `apache-airflow-providers-amazon>=%s` to requirements.txt.",
            amazon,
            AMAZON_PROVIDER_FLOOR,
            af,
            AMAZON_PROVIDER_FLOOR,
        )
    else:
        log.info("[PASS] versions: no known EksPodOperator token bug for these versions")
    return found


def check_connection() -> str:
    """Link 1: the connection exists, names a role, and its session is exactly that role."""
    try:
        conn = _get_connection(CONN_ID)
    except Exception as err:  # noqa: BLE001 - missing or unreadable: either way the link is broken
        if _is_not_found(err):
            _report(
                "assume_role",
                False,
                f"connection {CONN_ID!r} does not exist here, so EksPodOperator would fall back to the "
                f"Deployment's own identity, which the cluster does not map. Create it: {_connection_command('create')}",
            )
        _report("assume_role", False, f"cannot read connection {CONN_ID!r}: {err}")
    extra = conn.extra_dejson or {}
    role_arn = str(extra.get("role_arn") or "")
    if not role_arn:
        _report(
            "assume_role",
            False,
            f"connection {CONN_ID!r} has no role_arn in its extra, so AwsBaseHook would use the Deployment's own "
            f"identity instead of assuming the role the cluster maps. Fix it: {_connection_command('update')}",
        )
    match = ROLE_ARN_RE.match(role_arn)
    if not match:
        _report("assume_role", False, f"connection {CONN_ID!r}: role_arn {role_arn!r} is not an IAM role ARN")
    partition, account, role_name = match.groups()
    if role_name != ROLE_ARN.rsplit("/", 1)[-1] or f"::{account}:" not in ROLE_ARN:
        log.warning("[WARN] connection %r names %s; astro-remote-kpo set up %s", CONN_ID, role_arn, ROLE_ARN)
    try:
        arn = _aws_client("sts").get_caller_identity()["Arn"]
    except Exception as err:  # noqa: BLE001
        _report(
            "assume_role",
            False,
            f"connection {CONN_ID!r} could not assume {role_arn}: {err}. Its trust policy must name this "
            "Deployment's workload identity (`npx astro-remote-kpo verify` shows it).",
        )
    want = f"arn:{partition}:sts::{account}:assumed-role/{role_name}/"
    ok = arn.startswith(want)
    _report(
        "assume_role",
        ok,
        f"caller is {arn}" if ok else f"caller is {arn}, not a session of {role_arn}: the connection did not assume its role",
    )
    return arn


def check_describe_cluster() -> str:
    """Link 2: eks:DescribeCluster with the connection's role."""
    try:
        cluster = _aws_client("eks").describe_cluster(name=CLUSTER_NAME)["cluster"]
    except Exception as err:  # noqa: BLE001
        _report("describe_cluster", False, f"eks:DescribeCluster on {CLUSTER_NAME!r} failed: {err}")
    ok = cluster.get("status") == "ACTIVE"
    _report("describe_cluster", ok, f"cluster {CLUSTER_NAME} is {cluster.get('status')} at {cluster.get('endpoint')}")
    return cluster["endpoint"]


@contextlib.contextmanager
def _credentials_file(frozen):
    """A 0600 file of `export AWS_...` lines, as EksPodOperator writes it for the exec plugin."""
    fd, path = tempfile.mkstemp(prefix="airflow_eks_", suffix=".aws_creds")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(f"export AWS_ACCESS_KEY_ID={shlex.quote(frozen.access_key)}\n")
            f.write(f"export AWS_SECRET_ACCESS_KEY={shlex.quote(frozen.secret_key)}\n")
            if frozen.token:
                f.write(f"export AWS_SESSION_TOKEN={shlex.quote(frozen.token)}\n")
        yield path
    finally:
        with contextlib.suppress(OSError):
            os.unlink(path)


@contextlib.contextmanager
def _operator_kubeconfig(hook):
    """The kubeconfig EksPodOperator.execute builds. Amazon provider 9.13+: generate_config_file
    takes a credentials file the exec plugin sources; before: the plugin reads the connection."""
    if "credentials_file" not in inspect.signature(hook.generate_config_file).parameters:
        with hook.generate_config_file(eks_cluster_name=CLUSTER_NAME, pod_namespace=NAMESPACE) as path:
            yield path
        return
    credentials = hook.get_session().get_credentials()
    if credentials is None:
        _report("kubernetes_access", False, f"connection {CONN_ID!r} gave no AWS credentials")
    frozen = credentials.get_frozen_credentials()
    secure = getattr(hook, "_secure_credential_context", None)
    files = secure(frozen.access_key, frozen.secret_key, frozen.token) if secure else _credentials_file(frozen)
    with files as credentials_file:
        with hook.generate_config_file(
            eks_cluster_name=CLUSTER_NAME, pod_namespace=NAMESPACE, credentials_file=credentials_file
        ) as path:
            yield path


def _api_client(config_file: str):
    """Through the cncf.kubernetes hook, as KubernetesPodOperator does; the plain client without it."""
    try:
        from airflow.providers.cncf.kubernetes.hooks.kubernetes import KubernetesHook

        return KubernetesHook(conn_id=None, config_file=config_file, in_cluster=False).api_client
    except (ImportError, TypeError) as err:
        log.info("using the kubernetes client directly (%s)", err)
        from kubernetes import config as k8s_config

        return k8s_config.new_client_from_config(config_file=config_file)


def _kube_hint(err: Exception) -> str:
    status = getattr(err, "status", None)
    if status == 401:
        return (
            "401: the cluster did not accept the token the exec plugin minted. Check the provider version "
            "(check_versions) and the IAM-to-Kubernetes mapping (`npx astro-remote-kpo verify`)."
        )
    if status == 403:
        return "403: the mapped Kubernetes user may not list pods here; check the RoleBinding (`npx astro-remote-kpo verify`)."
    return ""


def check_kubernetes() -> dict:
    """Link 3: the operator's kubeconfig reaches the cluster; the KPO permission matrix holds."""
    from kubernetes import client as k8s
    from airflow.providers.amazon.aws.hooks.eks import EksHook

    hook = EksHook(aws_conn_id=CONN_ID, region_name=REGION)
    results = {}
    with _operator_kubeconfig(hook) as config_file:
        try:
            api = _api_client(config_file)
            pods = k8s.CoreV1Api(api).list_namespaced_pod(NAMESPACE, limit=5)
        except Exception as err:  # noqa: BLE001
            _report("kubernetes_access", False, f"listing pods in namespace {NAMESPACE!r} failed: {err} {_kube_hint(err)}".strip())
        _report("kubernetes_access", True, f"listed {len(pods.items)} pod(s) in namespace {NAMESPACE}")
        authz = k8s.AuthorizationV1Api(api)
        for resource, subresource, verb in KPO_PERMISSIONS:
            attrs = k8s.V1ResourceAttributes(namespace=NAMESPACE, resource=resource, subresource=subresource or None, verb=verb)
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


@dag(
    dag_id="test_eks_connectivity",
    schedule=None,
    start_date=datetime(2024, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    default_args={"retries": 0},
    tags=["astro-remote-kpo", "eks"],
    doc_md=__doc__,
)
def test_eks_connectivity():
    @task(task_id="check_versions")
    def versions() -> dict:
        return check_versions()

    @task
    def assume_role() -> str:
        return check_connection()

    @task
    def describe_cluster() -> str:
        return check_describe_cluster()

    @task
    def kubernetes_access() -> dict:
        return check_kubernetes()

    versions() >> assume_role() >> describe_cluster() >> kubernetes_access()


test_eks_connectivity()
