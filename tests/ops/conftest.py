"""Fixtures for the deployer: a rendered folder, a packaged function, moto in-process, Stubber."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
import requests
from moto.server import ThreadedMotoServer
from stackset_support import PRIMARY, FakeClock, StubbedAws, region_values, regional_template, write_rendered

from ops.aws import Aws
from ops.rendered import load
from templates import packaging


@pytest.fixture
def build_dir(tmp_path) -> Path:
    """Where rendering leaves the zips: build/ beside dr_templates/."""
    return tmp_path / "build"


@pytest.fixture
def code_key(tmp_path, build_dir) -> str:
    """A packaged function in the build folder, by its S3 key."""
    source = tmp_path / "src" / "hello"
    source.mkdir(parents=True)
    (source / "handler.py").write_text("def handle(event, context):\n    return 'hello'\n")
    content, sha256 = packaging.package(source)
    key = packaging.s3_key("hello", sha256)
    (build_dir / key).parent.mkdir(parents=True)
    (build_dir / key).write_bytes(content)
    return key


@pytest.fixture
def dr_templates_dir(tmp_path, code_key) -> Path:
    return write_rendered(tmp_path / "dr_templates", regional_template(code_key), region_values(), code_key)


@pytest.fixture
def dr_templates(dr_templates_dir):
    return load(dr_templates_dir)


@pytest.fixture
def fake_clock() -> FakeClock:
    return FakeClock()


# -- moto ------------------------------------------------------------------------------


def _kms_key_tags_as_cloudformation_writes_them() -> None:
    """moto 5.2.5 hands an AWS::KMS::Key's ``Tags`` to its KMS backend as they are, and that
    backend reads KMS's API shape (``TagKey``/``TagValue``); CloudFormation's AWS::KMS::Key
    takes ``Key``/``Value`` (CloudFormation template reference, AWS::KMS::Key Tags), so a
    tagged key fails moto's stack. Translate, as CloudFormation's handler does."""
    from moto.kms.models import Key

    create = Key.create_from_cloudformation_json.__func__
    if getattr(create, "translates_tags", False):
        return

    def translated(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        properties = dict(cloudformation_json["Properties"])
        properties["Tags"] = [{"TagKey": t["Key"], "TagValue": t["Value"]} for t in properties.get("Tags", [])]
        return create(cls, resource_name, {**cloudformation_json, "Properties": properties}, account_id, region_name, **kwargs)

    translated.translates_tags = True
    Key.create_from_cloudformation_json = classmethod(translated)


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    _kms_key_tags_as_cloudformation_writes_them()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    _, port = server.get_host_and_port()
    # "localhost", not the IP: moto reads a TemplateURL on localhost as path style.
    yield f"http://localhost:{port}"
    server.stop()


@pytest.fixture(scope="session")
def moto_session(tmp_path_factory) -> boto3.Session:
    """One session for every moto test (service models parsed once): fake credentials, and
    no profile or config of whoever runs the tests."""
    nowhere = tmp_path_factory.mktemp("no-aws-config") / "absent"
    with pytest.MonkeyPatch.context() as environment:
        for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
            environment.delenv(name, raising=False)
        environment.setenv("AWS_CONFIG_FILE", str(nowhere))
        environment.setenv("AWS_SHARED_CREDENTIALS_FILE", str(nowhere))
        session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing")
        assert session.available_profiles == []  # reads (and keeps) the empty configuration now
    return session


@pytest.fixture
def moto_aws(moto_endpoint, moto_session, monkeypatch) -> Aws:
    """Real boto3 over HTTP to a freshly reset moto."""
    requests.post(f"{moto_endpoint}/moto-api/reset", timeout=10)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    return Aws(moto_session, PRIMARY)


@pytest.fixture
def stackset_roles_exist(moto_aws, dr_templates) -> None:
    trust = json.dumps({"Version": "2012-10-17", "Statement": []})
    for role in (dr_templates.roles.administration, dr_templates.roles.execution):
        moto_aws.client("iam").create_role(RoleName=role.name, AssumeRolePolicyDocument=trust)


# -- Stubber ---------------------------------------------------------------------------


@pytest.fixture
def stubbed() -> StubbedAws:
    return StubbedAws()
