"""Undeploys the models a Vertex AI endpoint no longer sends traffic to, after each push.

TFX's Vertex AI Pusher deploys every blessed model to the same endpoint with 100% of the traffic
(`Model.deploy(traffic_percentage=100)`): the models deployed before it stay deployed at 0% and
each is still billed per node-hour. This step, after the Pusher, undeploys them, or all but the
most recent one when you keep it for a rollback. It never touches a model that receives traffic.
It reads what the Pusher pushed, so it runs again whenever a push happened (Vertex AI's cache
key is a step's inputs and command: a step without inputs would be a cache hit forever).
"""

from collections.abc import Sequence


def idle_models(traffic_split: dict, deployed_models: Sequence, keep_previous: bool) -> list:
    """The deployed models to undeploy: those at 0% traffic, except the newest one when keep_previous."""
    idle = [model for model in deployed_models if int(traffic_split.get(model.id, 0)) == 0]
    idle.sort(key=lambda model: str(model.create_time), reverse=True)
    return idle[1:] if keep_previous else idle


def undeploy_idle_models(endpoint, keep_previous: bool) -> list[str]:
    """Undeploys the endpoint's idle models; returns their deployed-model ids."""
    undeployed = []
    for model in idle_models(dict(endpoint.traffic_split), endpoint.list_models(), keep_previous):
        endpoint.undeploy(deployed_model_id=model.id, sync=True)
        print(f"undeployed {model.display_name or model.id} (deployed model {model.id}): it had 0% of the traffic")
        undeployed.append(model.id)
    return undeployed


def clean_up(project: str, region: str, endpoint_name: str, keep_previous: bool) -> list[str]:
    """Finds the endpoint by display name and undeploys its idle models (needs the network)."""
    from google.cloud import aiplatform

    aiplatform.init(project=project, location=region)
    endpoints = aiplatform.Endpoint.list(filter=f'display_name="{endpoint_name}"')
    if not endpoints:
        print(f"no endpoint named {endpoint_name!r}: nothing was pushed yet")
        return []
    undeployed = undeploy_idle_models(endpoints[0], keep_previous)
    print(f"{len(undeployed)} idle model(s) undeployed from {endpoints[0].resource_name}")
    return undeployed
