"""Each region's failover report bucket, created by the bootstrap stack set.

The runbook's report step writes every run's report here (JSON and HTML, under
``reports/``), in the region the run ran in; ``build.py report`` reads it back. Like the
artifact bucket: the region's data key, versioned, private, TLS only, access logged, and
kept when the stack goes (``build.py destroy`` lists it; deleting it is the operator's act,
by name). Reports expire after ``reports.retention_days``, replaced versions too.

``reports.object_lock_days`` turns on an S3 Object Lock default retention, for users who
must keep evidence unaltered. Decide it before the first deploy: S3 can enable Object Lock on
an existing bucket, but CloudFormation gives ``ObjectLockEnabled`` "Update requires:
Replacement" (https://github.com/aws-cloudformation/cloudformation-coverage-roadmap/issues/1929),
and this bucket's fixed name cannot be taken by a replacement; ``build.py plan`` refuses the
change as a stateful replacement (``ops/plan.py`` ``REPLACEMENT_EXTRAS``). The user guide,
"Configuring S3 Object Lock" (https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock-configure.html):
"After you enable Object Lock on a bucket, you can't disable Object Lock or suspend versioning
for that bucket". AWS::S3::Bucket DefaultRetention
(https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-s3-bucket-defaultretention.html):
"The DefaultRetention settings require both a mode and a period."
"""

from __future__ import annotations

from troposphere import GetAtt, Output, Ref, Template, s3

from policies.s3 import tls_only
from templates import naming
from templates.artifacts import ARTIFACT_LOG_BUCKET, ARTIFACT_LOG_BUCKET_POLICY, INCOMPLETE_UPLOAD_DAYS, REPORT_LOG_PREFIX
from templates.buckets import NO_EVENTS_REASON, add_tls_only_policy, private_bucket_properties
from templates.config import Config
from templates.security import DATA_KEY
from templates.suppressions import guard_suppress

REPORT_BUCKET = "ReportBucket"
REPORT_BUCKET_POLICY = "ReportBucketPolicy"
REPORT_BUCKET_OUTPUT = "ReportBucketName"
# Where the runbook's report step writes (its IAM policy is this prefix only).
REPORT_PREFIX = "reports/"


def report_keys(execution_name: str) -> tuple[str, str]:
    """The JSON and the HTML report of a run, by its execution's name (``build.py failover``
    names it after the failover id); lambdas/runbook/write_report.py writes them."""
    return f"{REPORT_PREFIX}{execution_name}.json", f"{REPORT_PREFIX}{execution_name}.html"


def _object_lock(cfg: Config) -> dict:
    r = cfg.reports
    if not r.object_lock_days:
        return {}
    return {
        "ObjectLockEnabled": True,
        "ObjectLockConfiguration": s3.ObjectLockConfiguration(
            ObjectLockEnabled="Enabled",
            Rule=s3.ObjectLockRule(DefaultRetention=s3.DefaultRetention(Mode=r.object_lock_mode, Days=r.object_lock_days)),
        ),
    }


def add_report_bucket(t: Template, cfg: Config) -> None:
    """The bucket, after the artifact bucket's access log bucket (its requests are logged there)."""
    suppressed = {"S3_EVENT_NOTIFICATIONS_ENABLED_CHECK": NO_EVENTS_REASON}
    if not cfg.reports.object_lock_days:
        suppressed["S3_BUCKET_OBJECT_LOCK_ENABLED_CHECK"] = (
            "Object Lock is reports.object_lock_days, off by default: once on, S3 cannot turn it off; versioning "
            "keeps every replaced report for reports.retention_days"
        )
    days = cfg.reports.retention_days
    t.add_resource(
        s3.Bucket(
            REPORT_BUCKET,
            BucketName=naming.report_bucket(cfg).value(),
            DependsOn=ARTIFACT_LOG_BUCKET_POLICY,  # S3 delivers logs only where the policy lets it
            Metadata=guard_suppress(suppressed),
            **private_bucket_properties(GetAtt(DATA_KEY, "Arn")),
            **_object_lock(cfg),
            LoggingConfiguration=s3.LoggingConfiguration(DestinationBucketName=Ref(ARTIFACT_LOG_BUCKET), LogFilePrefix=REPORT_LOG_PREFIX),
            LifecycleConfiguration=s3.LifecycleConfiguration(
                Rules=[
                    s3.LifecycleRule(
                        Id="expire-reports",
                        Status="Enabled",
                        ExpirationInDays=days,
                        NoncurrentVersionExpiration=s3.NoncurrentVersionExpiration(NoncurrentDays=days),
                        AbortIncompleteMultipartUpload=s3.AbortIncompleteMultipartUpload(DaysAfterInitiation=INCOMPLETE_UPLOAD_DAYS),
                    ),
                    # The delete markers expiry leaves once their versions are gone. A rule of its own:
                    # ExpiredObjectDeleteMarker "cannot be specified with Days or Date in a Lifecycle
                    # Expiration Policy" (S3 API Reference, LifecycleExpiration,
                    # https://docs.aws.amazon.com/AmazonS3/latest/API/API_LifecycleExpiration.html).
                    s3.LifecycleRule(Id="remove-expired-delete-markers", Status="Enabled", ExpiredObjectDeleteMarker=True),
                ]
            ),
            # Evidence: kept when the stack goes. Its name is fixed, so a bucket kept by a failed
            # first create would make the retry fail; empty until a run writes, so the rollback can delete it.
            DeletionPolicy="RetainExceptOnCreate",
            UpdateReplacePolicy="Retain",
        )
    )
    add_tls_only_policy(t, REPORT_BUCKET_POLICY, REPORT_BUCKET, tls_only(REPORT_BUCKET))
    t.add_output(Output(REPORT_BUCKET_OUTPUT, Description="This region's failover report bucket", Value=Ref(REPORT_BUCKET)))
