"""Stand-in AwsBaseHook: the connection's role_arn is assumed from the ambient credentials."""
import logging

import boto3

from airflow.exceptions import AirflowNotFoundException
from airflow.hooks.base import BaseHook

log = logging.getLogger(__name__)


class AwsBaseHook:
    def __init__(self, aws_conn_id="aws_default", region_name=None, client_type=None, **_kwargs):
        self.aws_conn_id, self.client_type = aws_conn_id, client_type
        self.extra = self._extra()
        self.region_name = region_name or self.extra.get("region_name")

    def _extra(self):
        if self.aws_conn_id is None:
            return {}
        try:
            return BaseHook.get_connection(self.aws_conn_id).extra_dejson
        except AirflowNotFoundException:
            # The real hook does the same: an empty connection, so the ambient identity.
            log.warning("Unable to find AWS Connection ID '%s', switching to empty.", self.aws_conn_id)
            return {}

    @property
    def endpoint_url(self):
        return self.extra.get("endpoint_url")

    def get_session(self, region_name=None):
        region = region_name or self.region_name
        base = boto3.session.Session(region_name=region)
        role_arn = self.extra.get("role_arn")
        if not role_arn:
            return base
        sts = base.client("sts", endpoint_url=self.endpoint_url)
        creds = sts.assume_role(RoleArn=role_arn, RoleSessionName=f"Airflow_{self.aws_conn_id}")["Credentials"]
        return boto3.session.Session(
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
            region_name=region,
        )

    def get_conn(self):
        return self.get_session().client(self.client_type, endpoint_url=self.endpoint_url)

    @property
    def conn(self):
        return self.get_conn()
