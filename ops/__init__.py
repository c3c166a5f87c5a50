"""Operator-side boto3: deploys what ``dr_templates/`` holds as CloudFormation StackSets.

Reads the rendered files (manifest, templates, per-region parameters) and never renders:
data flows config -> templates -> dr_templates -> checks -> ops. Every entry point takes a
``progress`` callable for its output and raises ``ops.errors.OpsError`` with one clear
message for anything the operator must act on.
"""
