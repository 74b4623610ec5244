"""Check each link of the chain EksPodOperator relies on, the way the operator walks it.

0. check_providers    everything the operator path imports is installed: the Amazon provider's EKS
                      hook and operator module, the cncf.kubernetes provider and the kubernetes
                      client; a missing one FAILs naming the requirements.txt line to add, a
                      version with known EksPodOperator token bugs is warned about
1. assume_role        the connection CONN_ID exists, has a role_arn, and the session it gives is
                      exactly that role (GetCallerIdentity: assumed-role/<role name>/...)
2. describe_cluster   that role may call eks:DescribeCluster on CLUSTER_NAME
3. kubernetes_access  the API server at the cluster's endpoint answers from this Deployment within
                      KUBE_CONNECT_TIMEOUT seconds, and a kubeconfig built like EksPodOperator
                      builds it (EksHook.generate_config_file, whose exec plugin runs the
                      provider's eks_get_token) is accepted: list pods in NAMESPACE, then every
                      permission KubernetesPodOperator needs there (SelfSubjectAccessReview)
4. pod_identity       only when init gave the task pods an AWS identity (POD_SERVICE_ACCOUNT set):
                      a pod run as that ServiceAccount in NAMESPACE, through the same kubeconfig,
                      prints `aws sts get-caller-identity`, which must be the pods' role
                      POD_ROLE_NAME; the pod is deleted whatever happens. Otherwise: skipped (passes)

The tasks run in that order and stop at the first broken link. Each imports what it needs inside
the task, so a missing package is a [FAIL] line that says what to add, never a traceback.
Written by astro-remote-kpo: the defaults block below holds the names chosen at `init`.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import json
import logging
import os
import re
import secrets
import shlex
import tempfile
import time
from datetime import datetime, timezone

# --- astro-remote-kpo defaults (rewritten by `npx astro-remote-kpo init`) ---
CLUSTER_NAME = "remote-kpo-demo"
REGION = "us-east-1"
NAMESPACE = "astro-remote-kpo"
CONN_ID = "aws_eks"
ROLE_ARN = "arn:aws:iam::123456789012:role/AstroRemoteKPO"
# The task pods' own AWS identity (init --pod-policy-arn): their ServiceAccount and IAM role name.
# Both "" when init gave the pods none; then the pod_identity task only says it skipped.
POD_SERVICE_ACCOUNT = ""
POD_ROLE_NAME = ""
# --- end of astro-remote-kpo defaults ---

# The requirements.txt lines `init` adds where the image lacks a provider or ships it too old, filled
# in from the same table at `init`, so what this DAG tells you to add is what init writes. The
# Amazon floor needs Airflow AMAZON_FLOOR_AIRFLOW or newer; below it, the provider's name alone.
AMAZON_REQUIREMENT = "apache-airflow-providers-amazon>=9.30.0"
AMAZON_FLOOR_AIRFLOW = "2.11"
CNCF_REQUIREMENT = "apache-airflow-providers-cncf-kubernetes>=7.2.0"

# Link 3 gives the API server this long to accept a connection (TCP and TLS), and each request
# this long to be answered, instead of hanging until the task times out.
KUBE_CONNECT_TIMEOUT = 10
KUBE_READ_TIMEOUT = 30

# Link 4 runs `aws sts get-caller-identity` as POD_SERVICE_ACCOUNT in this image: the AWS CLI's own
# image on ECR Public (no Docker Hub rate limit), pinned. EKS Pod Identity needs AWS CLI 2.15.0 or
# newer (EKS user guide, pod-id-minimum-sdk); 2.27.26 is an AWS CLI v2 release (aws/aws-cli .changes/2.27.26.json).
AWS_CLI_IMAGE = "public.ecr.aws/aws-cli/aws-cli:2.27.26"
# Link 4 gives its pod this long to start (a node may have to come up and pull the image), then
# this long to print the identity, reading its status every POD_POLL_SECONDS; each request is
# bounded like link 3's.
POD_START_TIMEOUT = 300
POD_RUN_TIMEOUT = 120
POD_POLL_SECONDS = 2
# On link 4's pod, so one left behind (the worker killed mid-check) is easy to find:
# `kubectl delete pod -n <namespace> -l app.kubernetes.io/component=pod-identity-check`.
POD_CHECK_LABELS = {"app.kubernetes.io/part-of": "astro-remote-kpo", "app.kubernetes.io/component": "pod-identity-check"}

# Astronomer's docs: networking between Astro and AWS, and a Deployment's external IP addresses.
ASTRO_AWS_NETWORKING = "https://www.astronomer.io/docs/astro/connect-aws#private-networking-connections"
ASTRO_EXTERNAL_IPS = "https://www.astronomer.io/docs/astro/connect-aws-public"

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


def _version_tuple(v: str) -> tuple:
    return tuple(int(p) for p in re.findall(r"\d+", v)[:3])


def _airflow_version() -> str | None:
    import airflow

    return getattr(airflow, "__version__", None)


def _amazon_line(airflow_version: str | None) -> str:
    """The Amazon line init writes for this Airflow: the floor, or the name where it cannot install."""
    if airflow_version and _version_tuple(airflow_version) < _version_tuple(AMAZON_FLOOR_AIRFLOW):
        return AMAZON_REQUIREMENT.split(">=")[0]
    return AMAZON_REQUIREMENT


def _line_for(missing: str) -> str:
    """The requirements.txt line that brings a missing module."""
    if missing.split(".")[0] == "kubernetes" or missing.startswith("airflow.providers.cncf"):
        return CNCF_REQUIREMENT
    return _amazon_line(_airflow_version())


def _load(module: str, attr: str | None = None):
    mod = importlib.import_module(module)
    return getattr(mod, attr) if attr else mod


def _import(link: str, module: str, attr: str | None = None):
    """What a task needs, imported inside the task: missing, it is this link's [FAIL] with the line
    to add (a task run on its own, after check_providers failed, says the same)."""
    try:
        return _load(module, attr)
    except (ImportError, AttributeError) as err:
        line = _line_for(getattr(err, "name", None) or module)
        _report(link, False, f"cannot import {module}{'.' + attr if attr else ''} ({err}): add `{line}` to requirements.txt, then `astro deploy`")


def _aws_client(link: str, service: str):
    """A client maker from the connection, as the operator's hooks make them (AssumeRole of
    role_arn). The import happens here (a missing provider is this link's FAIL); the calls, which
    may fail for AWS reasons, happen in the caller's try."""
    if service == "eks":
        eks_hook = _import(link, "airflow.providers.amazon.aws.hooks.eks", "EksHook")
        return lambda: eks_hook(aws_conn_id=CONN_ID, region_name=REGION).conn
    aws_hook = _import(link, "airflow.providers.amazon.aws.hooks.base_aws", "AwsBaseHook")
    return lambda: aws_hook(aws_conn_id=CONN_ID, client_type=service, region_name=REGION).get_conn()


def _dist_version(dist: str, module: str) -> str | None:
    try:
        from importlib.metadata import version

        return version(dist)
    except Exception:  # noqa: BLE001 - not installed as a distribution: ask the module
        try:
            return getattr(importlib.import_module(module), "__version__", None)
        except ImportError:
            return None


# Known EksPodOperator token bugs (the table of src/airflow/provider-floor.ts): (fixed in, issue,
# Airflow 3 only, what fails before the fix).
TOKEN_BUGS = [
    ("9.9.0", "apache/airflow#50771", True, "the token helper initialises Airflow's database layer and fails under the Task SDK"),
    ("9.13.0", "apache/airflow#53578", True, "the token helper cannot read a connection stored in the metadata DB"),
    ("9.30.0", "apache/airflow#64657", False, "the exec plugin reads the token from the helper's output with its stderr merged in: cross-account 401"),
]


def _token_bugs(airflow_version: str | None, amazon: str | None) -> list[str]:
    """The known token bugs of this Amazon provider on this Airflow."""
    if not amazon or not airflow_version:
        return []
    af3 = _version_tuple(airflow_version) >= (3,)
    return [
        f"before {fixed} {what} ({issue})"
        for fixed, issue, af3_only, what in TOKEN_BUGS
        if _version_tuple(amazon) < _version_tuple(fixed) and (af3 or not af3_only)
    ]


def _version_advice(airflow_version: str | None, amazon: str | None) -> str:
    """What to do about the token bugs of this provider version, or "" when there are none."""
    bugs = _token_bugs(airflow_version, amazon)
    if not bugs:
        return ""
    where = f"apache-airflow-providers-amazon {amazon} on Airflow {airflow_version}"
    if _amazon_line(airflow_version) == AMAZON_REQUIREMENT:
        return f"{where}: {'; '.join(bugs)}. Add `{AMAZON_REQUIREMENT}` to requirements.txt."
    return (
        f"{where}: {'; '.join(bugs)}. The fix needs Airflow {AMAZON_FLOOR_AIRFLOW}+: "
        "Astro Runtime 13 (Airflow 2.11) or 3.x brings it."
    )


# What EksPodOperator's path imports, and who brings it. The operator module imports the
# cncf.kubernetes provider at its top, so it is checked last: its failure then names the real gap.
OPERATOR_PATH = [
    ("airflow.providers.amazon.aws.hooks.eks", "EksHook", "the Amazon provider's EksHook"),
    ("airflow.providers.cncf.kubernetes.operators.pod", "KubernetesPodOperator", "the cncf.kubernetes provider's KubernetesPodOperator"),
    ("airflow.providers.cncf.kubernetes.hooks.kubernetes", "KubernetesHook", "the cncf.kubernetes provider's KubernetesHook"),
    ("kubernetes.client", "CoreV1Api", "the kubernetes client"),
    ("airflow.providers.amazon.aws.operators.eks", "EksPodOperator", "the Amazon provider's EksPodOperator"),
]


def check_providers() -> dict:
    """Everything EksPodOperator imports is installed; versions with known token bugs are warned about."""
    found = {
        "airflow": _airflow_version(),
        "apache-airflow-providers-amazon": _dist_version("apache-airflow-providers-amazon", "airflow.providers.amazon"),
        "apache-airflow-providers-cncf-kubernetes": _dist_version(
            "apache-airflow-providers-cncf-kubernetes", "airflow.providers.cncf.kubernetes"
        ),
    }
    log.info("versions: %s", ", ".join(f"{k} {v or 'not found'}" for k, v in found.items()))
    missing, lines = [], []
    for module, attr, what in OPERATOR_PATH:
        try:
            _load(module, attr)
        except (ImportError, AttributeError) as err:
            missing.append(f"{what} ({err})")
            line = _line_for(getattr(err, "name", None) or module)
            if line not in lines:
                lines.append(line)
    advice = _version_advice(found["airflow"], found["apache-airflow-providers-amazon"])
    if advice:
        log.warning("[WARN] %s EksPodOperator may get 401 while these checks pass.", advice)
    cncf = found["apache-airflow-providers-cncf-kubernetes"]
    cncf_floor = CNCF_REQUIREMENT.split(">=")[1]
    if cncf and _version_tuple(cncf) < _version_tuple(cncf_floor):
        log.warning(
            "[WARN] apache-airflow-providers-cncf-kubernetes %s is below %s, the lowest the Amazon provider accepts. Add `%s` to requirements.txt.",
            cncf,
            cncf_floor,
            CNCF_REQUIREMENT,
        )
    if missing:
        _report(
            "check_providers",
            False,
            f"EksPodOperator cannot run in this image: missing {'; '.join(missing)}. "
            f"Add to requirements.txt: {', '.join(f'`{line}`' for line in lines)}, then `astro deploy`.",
        )
    _report("check_providers", True, "EksHook, EksPodOperator, KubernetesPodOperator, KubernetesHook and the kubernetes client import")
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
    sts = _aws_client("assume_role", "sts")
    try:
        arn = sts().get_caller_identity()["Arn"]
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
    eks = _aws_client("describe_cluster", "eks")
    try:
        cluster = eks().describe_cluster(name=CLUSTER_NAME)["cluster"]
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
def _operator_kubeconfig(link: str, hook):
    """The kubeconfig EksPodOperator.execute builds. Amazon provider 9.13+: generate_config_file
    takes a credentials file the exec plugin sources; before: the plugin reads the connection."""
    if "credentials_file" not in inspect.signature(hook.generate_config_file).parameters:
        with hook.generate_config_file(eks_cluster_name=CLUSTER_NAME, pod_namespace=NAMESPACE) as path:
            yield path
        return
    credentials = hook.get_session().get_credentials()
    if credentials is None:
        _report(link, False, f"connection {CONN_ID!r} gave no AWS credentials")
    frozen = credentials.get_frozen_credentials()
    secure = getattr(hook, "_secure_credential_context", None)
    files = secure(frozen.access_key, frozen.secret_key, frozen.token) if secure else _credentials_file(frozen)
    with files as credentials_file:
        with hook.generate_config_file(
            eks_cluster_name=CLUSTER_NAME, pod_namespace=NAMESPACE, credentials_file=credentials_file
        ) as path:
            yield path


def _reachability_fix() -> str:
    return (
        "Astro Hosted reaches an EKS API server over its public endpoint unless a network connection to the "
        "cluster's VPC exists. Either allow this Deployment on the public endpoint: `aws eks update-cluster-config "
        f"--region {REGION} --name {CLUSTER_NAME} --resources-vpc-config "
        'endpointPublicAccess=true,publicAccessCidrs=\"<each CIDR already allowed>\",\"<each external IP of this Deployment>/32\"` '
        f"(where Astro shows the Deployment's external IPs: {ASTRO_EXTERNAL_IPS}), or set up a network connection "
        f"from Astro to the cluster's VPC ({ASTRO_AWS_NETWORKING}). `npx astro-remote-kpo verify` shows the "
        "cluster's endpoint settings."
    )


def _check_reachable(link: str, endpoint: str, ca_file: str | None) -> None:
    """The API server at `endpoint` accepts a TCP connection and a TLS handshake within
    KUBE_CONNECT_TIMEOUT seconds; otherwise the link FAILs with the reachability fix."""
    import socket
    import ssl
    from urllib.parse import urlsplit

    url = urlsplit(endpoint)
    host, port = url.hostname or "", url.port or 443
    try:
        with socket.create_connection((host, port), timeout=KUBE_CONNECT_TIMEOUT) as sock:
            context = ssl.create_default_context(cafile=ca_file)
            with context.wrap_socket(sock, server_hostname=host):
                pass
    except socket.gaierror as err:
        _report(link, False, f"the cluster's endpoint {endpoint} does not resolve from this Deployment ({err}). {_reachability_fix()}")
    except (socket.timeout, TimeoutError):
        _report(
            link,
            False,
            f"the API server at the cluster's endpoint {endpoint} did not answer from this Deployment within "
            f"{KUBE_CONNECT_TIMEOUT} s. {_reachability_fix()}",
        )
    except ssl.SSLError as err:
        _report(link, False, f"TLS with the API server at {endpoint} failed: {err}")
    except OSError as err:
        _report(link, False, f"cannot connect to the API server at {endpoint} from this Deployment: {err}. {_reachability_fix()}")


def _is_timeout(err: BaseException | None) -> bool:
    """A timeout anywhere in the chain (urllib3 wraps it in MaxRetryError.reason)."""
    seen = set()
    while err is not None and id(err) not in seen:
        seen.add(id(err))
        if isinstance(err, TimeoutError) or "Timeout" in type(err).__name__:
            return True
        reason = getattr(err, "reason", None)  # an exception in urllib3's MaxRetryError, text in ApiException
        err = reason if isinstance(reason, BaseException) else err.__cause__ or err.__context__
    return False


def _kube_hint(err: Exception, action: str = "list pods") -> str:
    status = getattr(err, "status", None)
    versions = _version_advice(_airflow_version(), _dist_version("apache-airflow-providers-amazon", "airflow.providers.amazon"))
    if status == 401:
        return (
            "401: the cluster did not accept the token the exec plugin minted. "
            + (f"{versions} " if versions else "")
            + "Check the IAM-to-Kubernetes mapping (`npx astro-remote-kpo verify`)."
        )
    if status == 403 and "system:anonymous" in str(getattr(err, "body", "") or err):
        return (
            "403 as system:anonymous: the request carried no token, so the exec plugin's output could not be read. "
            + (versions or "Check the task log for the exec plugin's error.")
        )
    if status == 403:
        return f"403: the mapped Kubernetes user may not {action} here; check the RoleBinding (`npx astro-remote-kpo verify`)."
    return ""


def _kube_call(link: str, what: str, call, action: str = "list pods"):
    """One API request, bounded by the timeouts; a failure is the link's FAIL with the hint."""
    try:
        return call((KUBE_CONNECT_TIMEOUT, KUBE_READ_TIMEOUT))
    except LinkFailed:
        raise
    except Exception as err:  # noqa: BLE001 - every failure here is the link's
        if _is_timeout(err):
            _report(
                link,
                False,
                f"{what}: the API server did not answer from this Deployment within {KUBE_READ_TIMEOUT} s ({err}). {_reachability_fix()}",
            )
        _report(link, False, f"{what} failed: {err} {_kube_hint(err, action)}".strip())


@contextlib.contextmanager
def _kube_api(link: str):
    """An API client for the cluster as KubernetesPodOperator gets one inside EksPodOperator: the
    kubeconfig EksHook.generate_config_file builds, through the cncf.kubernetes KubernetesHook;
    the API server must first answer within KUBE_CONNECT_TIMEOUT. Yields (kubernetes.client, ApiClient)."""
    eks_hook = _import(link, "airflow.providers.amazon.aws.hooks.eks", "EksHook")
    kube_hook = _import(link, "airflow.providers.cncf.kubernetes.hooks.kubernetes", "KubernetesHook")
    k8s = _import(link, "kubernetes.client")
    hook = eks_hook(aws_conn_id=CONN_ID, region_name=REGION)
    with contextlib.ExitStack() as stack:
        try:
            config_file = stack.enter_context(_operator_kubeconfig(link, hook))
            api = kube_hook(conn_id=None, config_file=config_file, in_cluster=False).api_client
        except LinkFailed:
            raise
        except Exception as err:  # noqa: BLE001
            _report(link, False, f"building the kubeconfig EksPodOperator uses failed: {err}")
        _check_reachable(link, api.configuration.host, api.configuration.ssl_ca_cert)
        yield k8s, api


def check_kubernetes() -> dict:
    """Link 3: the API server answers; the operator's kubeconfig is accepted; the KPO permission matrix holds."""
    link = "kubernetes_access"
    results = {}
    with _kube_api(link) as (k8s, api):
        core = k8s.CoreV1Api(api)
        pods = _kube_call(
            link, f"listing pods in namespace {NAMESPACE!r}", lambda timeout: core.list_namespaced_pod(NAMESPACE, limit=5, _request_timeout=timeout)
        )
        _report(link, True, f"listed {len(pods.items)} pod(s) in namespace {NAMESPACE}")
        authz = k8s.AuthorizationV1Api(api)
        for resource, subresource, verb in KPO_PERMISSIONS:
            attrs = k8s.V1ResourceAttributes(namespace=NAMESPACE, resource=resource, subresource=subresource or None, verb=verb)
            body = k8s.V1SelfSubjectAccessReview(spec=k8s.V1SelfSubjectAccessReviewSpec(resource_attributes=attrs))
            name = f"{verb} {resource}{'/' + subresource if subresource else ''}"
            review = _kube_call(
                link, f"asking whether it can {name}", lambda timeout, b=body: authz.create_self_subject_access_review(b, _request_timeout=timeout)
            )
            results[name] = bool(review.status.allowed)
            log.info("[%s] can %s in %s", "PASS" if results[name] else "FAIL", name, NAMESPACE)
    denied = [name for name, allowed in results.items() if not allowed]
    _report(
        "kubernetes_permissions",
        not denied,
        "every permission KubernetesPodOperator needs is granted" if not denied else f"denied: {', '.join(denied)}",
    )
    return results


# What link 4's pod runs: the image's entrypoint is `aws`; the ARN alone on stdout.
POD_CHECK_ARGS = ["sts", "get-caller-identity", "--query", "Arn", "--output", "text"]
# An EC2 instance profile's session is named after the instance: the node's own role.
NODE_SESSION_RE = re.compile(r":assumed-role/([^/]+)/(i-[0-9a-f]+)$")


def _pod_role_arn() -> tuple[str, str]:
    """The pods' role ARN and the prefix of every session of it, in ROLE_ARN's account and partition."""
    match = ROLE_ARN_RE.match(ROLE_ARN)
    if not POD_ROLE_NAME or not match:
        _report(
            "pod_identity",
            False,
            f"the defaults block names ServiceAccount {POD_SERVICE_ACCOUNT!r} but POD_ROLE_NAME is {POD_ROLE_NAME!r} "
            f"and ROLE_ARN {ROLE_ARN!r}: run `npx astro-remote-kpo init` again, which rewrites them",
        )
    partition, account, _ = match.groups()
    return f"arn:{partition}:iam::{account}:role/{POD_ROLE_NAME}", f"arn:{partition}:sts::{account}:assumed-role/{POD_ROLE_NAME}/"


def _identity_fix(role_arn: str) -> str:
    """What gives a pod run as POD_SERVICE_ACCOUNT the pods' role, in either mode."""
    return (
        f"IRSA: the ServiceAccount {NAMESPACE}/{POD_SERVICE_ACCOUNT} needs the annotation "
        f"eks.amazonaws.com/role-arn: {role_arn}. EKS Pod Identity: a pod identity association for namespace "
        f"{NAMESPACE} and service account {POD_SERVICE_ACCOUNT} with that role, and the eks-pod-identity-agent "
        "add-on running on the cluster. `npx astro-remote-kpo verify` shows which is missing; "
        "`npx astro-remote-kpo init` sets it up."
    )


def _aws_cli_hint(output: str, role_arn: str) -> str:
    """Why `aws sts get-caller-identity` failed in the pod, from what the AWS CLI printed."""
    if "AssumeRoleWithWebIdentity" in output or "InvalidIdentityToken" in output:
        return (
            f"IRSA: {role_arn} must trust the cluster's OIDC provider (registered in IAM) for "
            f"system:serviceaccount:{NAMESPACE}:{POD_SERVICE_ACCOUNT} with audience sts.amazonaws.com; "
            "`npx astro-remote-kpo verify` shows the provider and the trust policy."
        )
    if "container-role" in output or "169.254.170.23" in output:
        return (
            "EKS Pod Identity: the agent on the node gave no credentials. The eks-pod-identity-agent add-on must be "
            f"installed with its pod running on the node, and the association must name {role_arn}; "
            "`npx astro-remote-kpo verify` shows both."
        )
    if "Could not connect to the endpoint URL" in output or "Connect timeout on endpoint URL" in output:
        return (
            f"The node cannot reach AWS STS (sts.{REGION}.amazonaws.com): the nodes need egress to it, through a NAT "
            "gateway or an STS interface VPC endpoint."
        )
    if "Unable to locate credentials" in output:
        return f"No AWS credentials reached the pod. {_identity_fix(role_arn)}"
    return _identity_fix(role_arn)


def _printed(text: str, lines: int = 5) -> str:
    """The last lines a pod printed, quoted, for a [FAIL] line."""
    tail = [line for line in text.strip().splitlines()[-lines:]]
    return repr(" | ".join(tail)) if tail else "nothing"


def _pending_detail(pod) -> tuple[str, str]:
    """Why a pod is still Pending, from its status as the scheduler and kubelet set it, and the fix."""
    nodes = (
        f"No node could run it: the cluster needs a node it fits on (`eksctl scale nodegroup --cluster {CLUSTER_NAME} "
        "--name <node group> --nodes 1`, a Karpenter NodePool that matches it, or on Fargate a profile selecting "
        f"namespace {NAMESPACE})."
    )
    image = (
        f"The node could not pull {AWS_CLI_IMAGE}: nodes need egress to public.ecr.aws (a NAT gateway), or copy the "
        "image to a private ECR repository they reach and set AWS_CLI_IMAGE in this file to it."
    )
    status = pod.status
    for cond in (status.conditions if status else None) or []:
        if cond.type == "PodScheduled" and cond.status == "False":
            return f"not scheduled: {cond.reason}: {cond.message}", nodes
    for container in (status.container_statuses if status else None) or []:
        waiting = container.state.waiting if container.state else None
        if waiting and waiting.reason in ("ErrImagePull", "ImagePullBackOff", "InvalidImageName"):
            return f"its image could not be pulled: {waiting.reason}: {waiting.message}", image
        if waiting:
            return f"its container is waiting: {waiting.reason}: {waiting.message}", f"{nodes} {image}"
    return "no node has started it", f"{nodes} {image}"


def _pod_state(pod) -> str:
    """One line for the task log each time the pod's state changes."""
    status = pod.status
    if not status:
        return "no status yet"
    detail = ""
    for container in status.container_statuses or []:
        state = container.state
        waiting, terminated = (state.waiting, state.terminated) if state else (None, None)
        if waiting:
            detail = f" ({waiting.reason})"
        elif terminated:
            detail = f" (exit code {terminated.exit_code})"
    return f"{status.phase}{detail}"


def _exit_code(pod) -> str:
    for container in (pod.status.container_statuses if pod.status else None) or []:
        if container.state and container.state.terminated:
            return str(container.state.terminated.exit_code)
    return "unknown"


def _check_pod(k8s, name: str):
    """Link 4's pod: the AWS CLI image, as the ServiceAccount, with the region set (IRSA's webhook then
    leaves it alone), never restarted, and stopped by the kubelet if this task dies before deleting it."""
    env = [k8s.V1EnvVar(name="AWS_REGION", value=REGION), k8s.V1EnvVar(name="AWS_DEFAULT_REGION", value=REGION)]
    return k8s.V1Pod(
        metadata=k8s.V1ObjectMeta(name=name, labels=POD_CHECK_LABELS),
        spec=k8s.V1PodSpec(
            service_account_name=POD_SERVICE_ACCOUNT,
            restart_policy="Never",
            active_deadline_seconds=POD_START_TIMEOUT + POD_RUN_TIMEOUT,
            containers=[k8s.V1Container(name="aws", image=AWS_CLI_IMAGE, args=POD_CHECK_ARGS, env=env)],
        ),
    )


def _create_refused(err: Exception, name: str) -> str:
    """The API server's reason for refusing the pod, with the fix."""
    try:
        message = json.loads(err.body)["message"]
    except Exception:  # noqa: BLE001 - not a Status: the exception says it all
        message = str(err)
    if "error looking up service account" in message:
        fix = (
            f"The ServiceAccount {NAMESPACE}/{POD_SERVICE_ACCOUNT} does not exist, and a pod can only run as one that "
            "does: `npx astro-remote-kpo init` creates it, `npx astro-remote-kpo verify` shows it."
        )
    elif 'cannot create resource "pods"' in message:
        fix = f"The mapped Kubernetes user may not create pods in {NAMESPACE}: check the RoleBinding (`npx astro-remote-kpo verify`)."
    else:
        fix = "An admission policy of the cluster refused this pod; the message names it."
    return f'the API server refused to create pod {name} as ServiceAccount {POD_SERVICE_ACCOUNT}: "{message}". {fix}'


def _run_check_pod(k8s, core, name: str):
    """Creates the pod and waits, bounded, until it ends; returns the ended pod and its log."""
    link = "pod_identity"

    def create(timeout):
        try:
            return core.create_namespaced_pod(NAMESPACE, _check_pod(k8s, name), _request_timeout=timeout)
        except Exception as err:  # noqa: BLE001 - a refusal is this link's FAIL; the rest as link 3's
            if getattr(err, "status", None) == 403 and "system:anonymous" not in str(getattr(err, "body", "")):
                _report(link, False, _create_refused(err, name))
            raise

    _kube_call(link, f"creating pod {name} in namespace {NAMESPACE!r}", create, "create pods")
    log.info("created pod %s in %s as ServiceAccount %s (%s)", name, NAMESPACE, POD_SERVICE_ACCOUNT, AWS_CLI_IMAGE)
    deadline, started, last = time.monotonic() + POD_START_TIMEOUT, False, None
    while True:
        pod = _kube_call(link, f"reading pod {name}", lambda t: core.read_namespaced_pod(name, NAMESPACE, _request_timeout=t), "get pods")
        phase = pod.status.phase if pod.status else None
        state = _pod_state(pod)
        if state != last:
            log.info("pod %s: %s", name, state)
            last = state
        if phase in ("Succeeded", "Failed"):
            return pod, _pod_log(core, name)
        now = time.monotonic()
        if phase not in (None, "Pending") and not started:
            started, deadline = True, now + POD_RUN_TIMEOUT
        if now >= deadline:
            if not started:
                detail, fix = _pending_detail(pod)
                _report(link, False, f"pod {name} stayed Pending for {POD_START_TIMEOUT} s: {detail}. {fix}")
            try:
                output = f"it printed {_printed(_pod_log(core, name))} so far"
            except LinkFailed as err:
                output = f"its log could not be read ({err})"
            _report(
                link,
                False,
                f"pod {name} was still {phase} {POD_RUN_TIMEOUT} s after it started, so `aws sts get-caller-identity` "
                f"hung; {output}. The node likely cannot reach AWS STS (sts.{REGION}.amazonaws.com) or the "
                "credentials endpoint: the nodes need egress to STS (a NAT gateway or an STS interface VPC endpoint).",
            )
        time.sleep(max(0.0, min(POD_POLL_SECONDS, deadline - now)))


def _pod_log(core, name: str) -> str:
    # Raw bytes: the client's default deserialisation would json.loads() a log that looks like JSON.
    response = _kube_call(
        "pod_identity",
        f"reading the log of pod {name}",
        lambda t: core.read_namespaced_pod_log(name, NAMESPACE, container="aws", _preload_content=False, _request_timeout=t),
        "get pods/log",
    )
    return response.data.decode("utf-8", "replace")


def _delete_check_pod(core, name: str) -> str:
    """Deletes link 4's pod (bounded); "" when it is gone or never existed, else why it is left."""
    try:
        core.delete_namespaced_pod(name, NAMESPACE, _request_timeout=(KUBE_CONNECT_TIMEOUT, KUBE_READ_TIMEOUT))
        log.info("deleted pod %s", name)
        return ""
    except Exception as err:  # noqa: BLE001 - reported by the caller
        if getattr(err, "status", None) == 404:
            return ""
        return f"could not delete pod {name} ({err}): `kubectl delete pod -n {NAMESPACE} {name}`"


def check_pod_identity() -> str:
    """Link 4: a pod run as POD_SERVICE_ACCOUNT is the pods' role to AWS (only when init gave the pods one)."""
    link = "pod_identity"
    if not POD_SERVICE_ACCOUNT:
        log.info("[SKIP] %s: skipped: no AWS identity for the pods (init --pod-policy-arn)", link)
        return "skipped"
    role_arn, want = _pod_role_arn()
    name = f"arkpo-pod-identity-{secrets.token_hex(4)}"
    with _kube_api(link) as (k8s, api):
        core = k8s.CoreV1Api(api)
        checked = False
        try:
            pod, output = _run_check_pod(k8s, core, name)
            checked = True
        finally:
            # Whatever happened, even a create whose answer was lost: the name is ours.
            left = _delete_check_pod(core, name)
            if left and not checked:
                log.error("[FAIL] %s: %s", link, left)  # the check's own [FAIL] follows
        if left:
            _report(link, False, left)
    if pod.status.phase == "Failed":
        _report(link, False, f"pod {name} failed (exit code {_exit_code(pod)}) and printed {_printed(output)}. {_aws_cli_hint(output, role_arn)}")
    arn = next((line.strip() for line in reversed(output.splitlines()) if line.strip().startswith("arn:")), "")
    if not arn:
        _report(link, False, f"pod {name} ended without printing an ARN; it printed {_printed(output)}")
    if arn.startswith(want):
        _report(link, True, f"pod {name}, run as ServiceAccount {POD_SERVICE_ACCOUNT}, is {arn}")
        return arn
    node = NODE_SESSION_RE.search(arn)
    if node:
        _report(
            link,
            False,
            f"pod {name} got the node's role {node.group(1)} ({arn}), not {POD_ROLE_NAME}: no pod identity reached it, "
            f"so the AWS CLI fell back to the node's instance profile. {_identity_fix(role_arn)}",
        )
    _report(
        link,
        False,
        f"pod {name} is {arn}, not a session of the pods' role {role_arn}: the ServiceAccount's "
        "eks.amazonaws.com/role-arn annotation or its pod identity association names another role "
        "(`npx astro-remote-kpo verify` shows which).",
    )


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
    @task(task_id="check_providers")
    def providers() -> dict:
        return check_providers()

    @task
    def assume_role() -> str:
        return check_connection()

    @task
    def describe_cluster() -> str:
        return check_describe_cluster()

    @task
    def kubernetes_access() -> dict:
        return check_kubernetes()

    @task
    def pod_identity() -> str:
        return check_pod_identity()

    providers() >> assume_role() >> describe_cluster() >> kubernetes_access() >> pod_identity()


test_eks_connectivity()
