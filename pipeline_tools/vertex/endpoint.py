"""The Vertex AI endpoint a blessed model is deployed to: its requests, finding it, deleting it.

The endpoint serves the pushed model's `serving_default` signature, so a request carries what the
local model takes: serialized raw `tf.Example`s, base64-encoded in JSON. Finding and deleting
need the network; building a request does not.
"""

import base64
from collections.abc import Sequence
from typing import Any

from pipeline_tools.vertex.settings import VertexSettings


def instances(serialized_examples: Sequence[bytes]) -> list[dict[str, Any]]:
    """The serving signature's input as a Vertex AI prediction request: base64 tf.Examples."""
    return [{"examples": {"b64": base64.b64encode(example).decode("ascii")}} for example in serialized_examples]


def find(settings: VertexSettings, credentials):
    """The endpoint the Pusher deployed to, or None. Needs the network."""
    from google.cloud import aiplatform

    found = aiplatform.Endpoint.list(
        filter=f'display_name="{settings.endpoint_display_name}"',
        project=settings.project,
        location=settings.region,
        credentials=credentials,
    )
    return found[0] if found else None


def predict(settings: VertexSettings, credentials, request: list[dict[str, Any]]) -> list[float] | None:
    """The endpoint's dispute probabilities for a request's instances; None when there is no endpoint yet.

    The Pusher creates the endpoint with the first model it deploys: no endpoint means no model was
    ever blessed and pushed. Needs the network.
    """
    deployed = find(settings, credentials)
    if deployed is None:
        return None
    # One output in the signature: TensorFlow Serving and our container answer with its value, not a dict.
    answers = deployed.predict(instances=request).predictions
    return [float(answer["dispute_probability"] if isinstance(answer, dict) else answer) for answer in answers]


def delete(settings: VertexSettings, credentials) -> None:
    """Undeploys every model from the endpoint and deletes it, which stops its billing."""
    endpoint = find(settings, credentials)
    if endpoint is None:
        print(f"no endpoint named {settings.endpoint_display_name!r} in {settings.project}/{settings.region}")
        return
    endpoint.undeploy_all()
    endpoint.delete()
    print("deleted", endpoint.resource_name)
