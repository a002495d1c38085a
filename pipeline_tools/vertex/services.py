"""TFX's own components on Vertex AI: module.py from the user-code wheel, the Trainer and the Pusher
handed to Vertex AI's services when their switches are on, and the endpoint's clean-up.

base_pipeline.py builds each component as it runs locally and calls these only for a Vertex AI
pipeline (`settings.vertex`), so the local path never imports TFX's Google Cloud extensions (they
import Vertex AI's client): `_extensions` imports them when a switch asks for one.
"""

from typing import Any

from tfx.components import Trainer

from pipeline_tools.components import vertex_steps
from pipeline_tools.settings import VertexServices


def with_user_code(component, services: VertexServices):
    """Transform or Trainer, loading module.py from the user-code wheel (user_code.py): what TFX's own
    packaging does when it compiles with Cloud Storage at hand."""
    component.exec_properties["module_file"] = None
    component.exec_properties["module_path"] = services.user_code
    return component


def trainer(arguments: dict[str, Any], services: VertexServices):
    """The Trainer in its task, or, with a training job, TFX's Vertex AI Trainer that runs run_fn there."""
    if services.training_job is None:
        return with_user_code(Trainer(**arguments), services)
    extensions = _extensions()
    job = {extensions.TRAINING_ARGS_KEY: services.training_job.training_args()}
    return with_user_code(extensions.Trainer(**arguments, custom_config=_config(services, job)), services)


def endpoint_pusher(arguments: dict[str, Any], services: VertexServices):
    """TFX's Vertex AI Pusher: uploads the blessed model and deploys it to the endpoint."""
    extensions = _extensions()
    serving = {extensions.SERVING_ARGS_KEY: services.endpoint.serving_args()}
    if services.serving_image:
        serving[extensions.VERTEX_CONTAINER_IMAGE_URI_KEY] = services.serving_image
    return extensions.Pusher(**arguments, custom_config=_config(services, serving))


def endpoint_cleanup(services: VertexServices):
    """The step that undeploys, after each push, the models left at 0% traffic on the endpoint."""
    endpoint = services.endpoint
    return vertex_steps.endpoint_cleanup(
        services.pipeline_image, endpoint.project, services.region, endpoint.name, services.keep_previous_model
    )


def _extensions():
    """TFX's Google Cloud extensions (they import Vertex AI's client): only for a switch that needs them."""
    from tfx.v1.extensions import google_cloud_ai_platform

    return google_cloud_ai_platform


def _config(services: VertexServices, settings: dict[str, Any]) -> dict[str, Any]:
    """The custom_config that switches an extension component to Vertex AI in the region."""
    extensions = _extensions()
    return {extensions.ENABLE_VERTEX_KEY: True, extensions.VERTEX_REGION_KEY: services.region, **settings}
