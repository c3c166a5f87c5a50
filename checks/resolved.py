"""The rendered templates as CloudFormation sees them in one region, offline.

cloud-radar resolves Conditions, ``Fn::Sub``, ``Fn::If`` and pseudo-parameters for a
region; its region data is seeded from cfn-lint's tables so it never downloads. The
per-region tests and the drills both read the template through this.
"""

from __future__ import annotations

import contextlib
import io
import json

import cloud_radar.cf.unit._template as cloud_radar_template
from cfnlint.helpers import AVAILABILITY_ZONES
from cloud_radar.cf.unit import Template as ResolvedTemplate
from cloud_radar.cf.unit import functions as cloud_radar_functions

from templates import naming, stack, stackset_roles
from templates.compute import CERTIFICATE_PARAMETER
from templates.config import Config
from templates.database import DB_SECRET



class _JsonCopy:
    """cloud-radar keeps each template as text to copy it (``yaml.dump`` on construction,
    ``yaml.load`` on every render), through PyYAML's pure-Python code: about 0.8 s per render of
    the regional template, most of a plan's time. The templates are JSON, so a JSON round trip
    is the same copy (keys sorted, as ``yaml.dump`` sorts them) in milliseconds. cloud-radar's
    template module uses ``yaml`` for nothing else but ``from_yaml``, which nothing here calls."""

    FullLoader = None

    @staticmethod
    def dump(data) -> str:
        return json.dumps(data, sort_keys=True)

    @staticmethod
    def load(text: str, Loader=None):
        return json.loads(text)


cloud_radar_template.yaml = _JsonCopy

# cloud-radar downloads region data for Fn::GetAZs unless it is seeded.
cloud_radar_functions.REGION_DATA = [{"code": region, "zones": zones} for region, zones in AVAILABILITY_ZONES.items()]

ACCOUNT_ID = ResolvedTemplate.AccountId

# cloud-radar resolves a Ref to a resource as its logical id; a dynamic reference then
# resolves to these stand-ins, so a test can tell a value came from the secret.
SECRET_REFERENCES = {
    "secretsmanager": {
        f"{DB_SECRET}:SecretString:{field}": f"<from secret: {field}>" for field in ("username", "password")
    }
}


def data_key_arn(region: str) -> str:
    """What this region's bootstrap stack exports as its data key (a stand-in per region)."""
    return f"arn:aws:kms:{region}:{ACCOUNT_ID}:key/data-key-of-{region}"


def certificate_arn(region: str) -> str:
    return f"arn:aws:acm:{region}:{ACCOUNT_ID}:certificate/00000000-0000-0000-0000-000000000000"


def resolver(template: dict, **options) -> ResolvedTemplate:
    """cloud-radar's resolver of ``template``. Loading a template prints it (a debug ``print`` in
    cloud-radar's template hooks), which the drills' and the plan's output do without."""
    with contextlib.redirect_stdout(io.StringIO()):
        return ResolvedTemplate(template, **options)


def resolve(template: dict, cfg: Config, region: str, overrides: dict[str, str] | None = None) -> dict:
    """The template as CloudFormation would see it in ``region``: conditions, Refs, Subs resolved.

    Exports are regional, so the import of the data key resolves to that region's key.
    ``overrides`` replace parameter values (a first create's, say).
    """
    imports = {naming.data_key_export(cfg).pattern: data_key_arn(region)}
    parameters = stack.region_parameters(cfg, region) | (overrides or {})
    # The default configuration has no certificate (it cannot deploy, by design).
    parameters[CERTIFICATE_PARAMETER] = parameters[CERTIFICATE_PARAMETER] or certificate_arn(region)
    return resolver(template, imports=imports, dynamic_references=SECRET_REFERENCES).render(parameters, region=region)


def resolve_bootstrap(template: dict, cfg: Config, region: str) -> dict:
    """The bootstrap template in ``region``, with its parameter file's values."""
    return resolver(template).render(stackset_roles.key_administrator_parameters(cfg), region=region)


def resources_of_type(resolved: dict, resource_type: str) -> dict[str, dict]:
    return {name: body for name, body in resolved["Resources"].items() if body["Type"] == resource_type}
