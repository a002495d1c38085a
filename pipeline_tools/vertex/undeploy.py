"""Undeploys the models an endpoint no longer sends traffic to, after each push.

TFX's Vertex AI Pusher deploys every blessed model to the same endpoint with 100% of the traffic
(`Model.deploy(traffic_percentage=100)`): the models deployed before it stay deployed at 0% and
each is still billed per node-hour. This step, a container component after the Pusher, undeploys
them, or all but the most recent one when you keep it for a rollback. It never touches a model
that receives traffic.

This file imports nothing of the repository: like the data gate, it runs as it is in the stock
TFX image (which has google-cloud-aiplatform), its source carried in the blueprint.
"""

import argparse
import sys
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


def main(argv: Sequence[str] | None = None) -> int:
    """Command line of the step, as the Vertex AI task runs it."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--project", required=True)
    parser.add_argument("--region", required=True)
    parser.add_argument("--endpoint-name", required=True, help="the endpoint's display name")
    parser.add_argument("--keep-previous", action="store_true", help="keep the newest model at 0% traffic")
    args = parser.parse_args(argv)
    from google.cloud import aiplatform

    aiplatform.init(project=args.project, location=args.region)
    endpoints = aiplatform.Endpoint.list(filter=f'display_name="{args.endpoint_name}"')
    if not endpoints:
        print(f"no endpoint named {args.endpoint_name!r}: nothing was pushed yet")
        return 0
    undeployed = undeploy_idle_models(endpoints[0], args.keep_previous)
    print(f"{len(undeployed)} idle model(s) undeployed from {endpoints[0].resource_name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
