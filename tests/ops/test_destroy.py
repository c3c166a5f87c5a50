"""Destroy: refused under deletion protection, only after confirmation, DR first, sets last.

Against moto, with the requests captured from botocore's own event hook, so the exact
order and preferences are asserted on what real boto3 sent. moto's CloudFormation skips
the database resources; the clusters are created directly with the RDS API.
"""

from __future__ import annotations

import json

import pytest
from stackset_support import (
    ACCOUNT,
    BOOTSTRAP,
    CFG,
    DR,
    PRIMARY,
    REGIONAL,
    region_values,
    regional_template,
    write_rendered,
)

from ops.deploy import deploy
from ops.destroy import destroy, typed_confirmation
from ops.errors import EXIT_PROBLEM, OpsError
from ops.operations import StackSets
from ops.rendered import load
from templates import naming
from templates.config import Config
from templates.render import render

pytestmark = pytest.mark.filterwarnings(
    "ignore:Tried to parse AWS.{2}(S3.{2}BucketPolicy|RDS.{2}\\w+Cluster):UserWarning"
)
GLOBAL_CLUSTER = naming.global_cluster(CFG).pattern


class Confirmation:
    def __init__(self, answer: bool):
        self.answer = answer
        self.asked: list[tuple[str, str]] = []

    def __call__(self, plan: str, expected: str) -> bool:
        self.asked.append((plan, expected))
        return self.answer


@pytest.fixture
def deployed(moto_aws, dr_templates_dir, code_key, fake_clock, stackset_roles_exist):
    """Both stack sets deployed from a template that declares the global database."""
    template = regional_template(code_key)
    template["Resources"]["GlobalCluster"] = {
        "Type": "AWS::RDS::GlobalCluster",
        "Properties": {"GlobalClusterIdentifier": GLOBAL_CLUSTER, "Engine": "aurora-postgresql"},
    }
    template["Resources"]["DbCluster"] = {
        "Type": "AWS::RDS::DBCluster",
        "DeletionPolicy": "Snapshot",
        "Properties": {
            "Engine": "aurora-postgresql",
            "DBClusterIdentifier": {"Fn::Sub": naming.db_cluster(CFG).pattern},
        },
    }
    write_rendered(dr_templates_dir, template, region_values(), code_key)
    rendered = load(dr_templates_dir)
    deploy(moto_aws, rendered, [].append, fake_clock.clock)
    return rendered


def _database(aws, region, protected):
    aws.client("rds", region).create_db_cluster(
        DBClusterIdentifier=naming.db_cluster(CFG).for_region(region),
        Engine="aurora-postgresql",
        MasterUsername="tester",
        MasterUserPassword="not-a-secret-1",
        DeletionProtection=protected,
    )


def _captured(aws):
    """(operation, parameters) of every stack set request boto3 sends from now on."""
    sent: list[tuple[str, dict]] = []
    aws.client("cloudformation").meta.events.register(
        "before-parameter-build.cloudformation", lambda params, model, **_: sent.append((model.name, dict(params)))
    )
    return sent


def test_refuses_while_a_database_has_deletion_protection_and_asks_nothing(moto_aws, deployed, fake_clock):
    _database(moto_aws, DR, protected=True)
    moto_aws.client("rds").create_global_cluster(
        GlobalClusterIdentifier=GLOBAL_CLUSTER, Engine="aurora-postgresql", DeletionProtection=True
    )
    confirm = Confirmation(True)

    with pytest.raises(OpsError) as refusal:
        destroy(moto_aws, deployed, confirm, [].append, fake_clock.clock)

    assert str(refusal.value).startswith("refusing to destroy: deletion protection is on")
    assert refusal.value.details == [
        f"DB cluster {naming.db_cluster(CFG).for_region(DR)} in {DR}",
        f"global cluster {GLOBAL_CLUSTER}",
    ]
    assert confirm.asked == []
    assert len(moto_aws.client("cloudformation").list_stack_instances(StackSetName=REGIONAL)["Summaries"]) == 2


@pytest.fixture
def dr_stack_rollback_failed(monkeypatch):
    """The DR instance's first create failed and its stack is ROLLBACK_FAILED (moto cannot make
    one): the instance as ListStackInstances reports it, the stack status as DescribeStacks would."""
    listed = StackSets.instances

    def instances(self, name):
        found = listed(self, name)
        if name == REGIONAL:
            found[DR] = {**found[DR], "Status": "OUTDATED", "StackInstanceStatus": {"DetailedStatus": "FAILED"}}
        return found

    monkeypatch.setattr(StackSets, "instances", instances)
    monkeypatch.setattr(StackSets, "stack_status", lambda self, name, region: ("stack-id", "ROLLBACK_FAILED"))


@pytest.mark.usefixtures("dr_stack_rollback_failed")
def test_a_rollback_failed_stack_is_named_in_the_plan_and_its_protection_refused_with_the_command_that_lifts_it(
    moto_aws, deployed, fake_clock
):
    """No deploy can update a ROLLBACK_FAILED stack, so the refusal gives the RDS command instead."""
    cluster = naming.db_cluster(CFG).for_region(DR)
    _database(moto_aws, DR, protected=True)
    with pytest.raises(OpsError) as refusal:
        destroy(moto_aws, deployed, Confirmation(True), [].append, fake_clock.clock)
    assert refusal.value.details[0] == (
        f"DB cluster {cluster} in {DR}: its stack is ROLLBACK_FAILED, so: aws rds modify-db-cluster --region {DR} "
        f"--db-cluster-identifier {cluster} --no-deletion-protection"
    )

    moto_aws.client("rds", DR).modify_db_cluster(DBClusterIdentifier=cluster, DeletionProtection=False)
    confirm = Confirmation(False)
    with pytest.raises(OpsError, match="not confirmed"):
        destroy(moto_aws, deployed, confirm, [].append, fake_clock.clock)
    ((plan, _),) = confirm.asked
    assert f"    {DR}: its stack is ROLLBACK_FAILED" in plan


def test_without_confirmation_nothing_is_deleted(moto_aws, deployed, fake_clock):
    _database(moto_aws, PRIMARY, protected=False)
    confirm = Confirmation(False)

    with pytest.raises(OpsError, match="not confirmed; nothing was deleted") as refusal:
        destroy(moto_aws, deployed, confirm, [].append, fake_clock.clock)

    assert refusal.value.exit_status == EXIT_PROBLEM
    ((plan, expected),) = confirm.asked
    assert expected == ACCOUNT
    assert plan.splitlines() == [
        f"Destroy in account {ACCOUNT}:",
        f"  stack set {REGIONAL}: instances in {DR}, {PRIMARY}",
        f"  stack set {BOOTSTRAP}: instances in {DR}, {PRIMARY}",
    ]
    assert len(moto_aws.client("cloudformation").list_stack_instances(StackSetName=BOOTSTRAP)["Summaries"]) == 2


def test_confirmed_deletes_dr_first_then_each_stack_set_in_reverse_order_and_names_what_stays(
    moto_aws, deployed, fake_clock
):
    sent = _captured(moto_aws)
    lines: list[str] = []

    destroy(moto_aws, deployed, Confirmation(True), lines.append, fake_clock.clock)

    deletes = [(operation, params) for operation, params in sent if operation.startswith("Delete")]
    reverse = {"Accounts": [ACCOUNT], "Regions": [DR, PRIMARY], "RetainStacks": False}
    preferences = {
        "RegionConcurrencyType": "SEQUENTIAL",
        "RegionOrder": [DR, PRIMARY],
        "MaxConcurrentCount": 1,
        "FailureToleranceCount": 0,
    }
    assert deletes == [
        ("DeleteStackInstances", {"StackSetName": REGIONAL, **reverse, "OperationPreferences": preferences}),
        ("DeleteStackSet", {"StackSetName": REGIONAL}),
        ("DeleteStackInstances", {"StackSetName": BOOTSTRAP, **reverse, "OperationPreferences": preferences}),
        ("DeleteStackSet", {"StackSetName": BOOTSTRAP}),
    ]
    assert f"  kept by their deletion policy in {DR}, {PRIMARY}: DbCluster (AWS::RDS::DBCluster, Snapshot)" in lines
    kept = "ArtifactAccessLogBucket (AWS::S3::Bucket, Retain), ArtifactBucket (AWS::S3::Bucket, RetainExceptOnCreate), DataKey (AWS::KMS::Key, RetainExceptOnCreate)"
    assert f"  kept by their deletion policy in {DR}, {PRIMARY}: {kept}" in lines


def test_nothing_deployed_is_nothing_to_destroy(moto_aws, dr_templates, fake_clock):
    lines: list[str] = []
    confirm = Confirmation(True)

    destroy(moto_aws, dr_templates, confirm, lines.append, fake_clock.clock)

    assert lines == ["nothing to destroy: none of the stack sets exists"]
    assert confirm.asked == []


def test_typed_confirmation_wants_the_account_id_and_takes_no_terminal_as_no():
    shown: list[str] = []
    answers = iter([ACCOUNT, "yes"])

    confirm = typed_confirmation(ask=lambda prompt: next(answers), show=shown.append)

    assert confirm("the plan", ACCOUNT) is True
    assert confirm("the plan", ACCOUNT) is False
    assert shown == ["the plan", "the plan"]

    def no_terminal(prompt):
        raise EOFError

    assert typed_confirmation(ask=no_terminal, show=shown.append)("the plan", ACCOUNT) is False


@pytest.mark.parametrize("mode, who", [("COMPLIANCE", "nobody, not even the account's root user,"), ("GOVERNANCE", "s3:BypassGovernanceRetention")])
def test_destroy_says_a_locked_report_bucket_keeps_its_name_until_retention_ends(mode, who):
    from ops.destroy import _object_lock_notes
    from templates.config import ReportsConfig

    def bootstrap(cfg: Config) -> dict:
        return json.loads(render(cfg)["bootstrap.json"])

    assert _object_lock_notes(bootstrap(Config())) == [], "no Object Lock, nothing to say beyond 'kept'"
    (note,) = _object_lock_notes(bootstrap(Config(reports=ReportsConfig(object_lock_days=7, object_lock_mode=mode))))
    assert note.startswith(f"ReportBucket has Object Lock on ({mode}, 7 days): ") and who in note
    assert "name stays taken" in note and "redeploy" in note
