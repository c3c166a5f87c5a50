"""On-call subscriptions of the alert topics, the same in every template that has one.

E-mail addresses and URLs go into the template as they are. Queue and function ARNs hold
the user's partition, account and region: they go in as parameters with the ARN's form as
``AllowedPattern`` and their values in the parameter files, so the template stays free of
such literals (rule E9005) and the ARN is still checked by CloudFormation before any change.
"""

from __future__ import annotations

from troposphere import Parameter, Ref, Template, sns

from templates.config import ENDPOINT_RULES, Config


def endpoint_parameter(index: int) -> str:
    return f"AlertEndpoint{index}"


def add_subscriptions(t: Template, cfg: Config) -> list[sns.Subscription]:
    """The on-call subscriptions for a topic of ``t``; adds a parameter per ARN endpoint
    (once per template: call it for each topic)."""
    subscriptions = []
    for index, endpoint in enumerate(cfg.alerts.endpoints):
        value = endpoint.endpoint
        if endpoint.is_arn:
            name = endpoint_parameter(index)
            if name not in t.parameters:
                pattern, description = ENDPOINT_RULES[endpoint.protocol]
                t.add_parameter(
                    Parameter(
                        name,
                        Type="String",
                        AllowedPattern=pattern.pattern,
                        Description=f"On-call alert endpoint {index}: {description} (alerts.endpoints[{index}])",
                    )
                )
            value = Ref(name)
        subscriptions.append(sns.Subscription(Protocol=endpoint.protocol, Endpoint=value))
    return subscriptions


def parameter_values(cfg: Config) -> dict[str, str]:
    """The values of the parameters ``add_subscriptions`` adds: the same in every region."""
    return {endpoint_parameter(index): e.endpoint for index, e in enumerate(cfg.alerts.endpoints) if e.is_arn}
