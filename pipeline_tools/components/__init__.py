"""The pipeline's own TFX components, and what they read: the code the pipeline image carries.

TFX's standard components run as TFX ships them. These four are the repository's own:

  data_gate            DataValidationGate: stops the run before Transform on anomalies or drift
  training_statistics  AttachTrainingStatistics: the trained model with its training data's statistics
  model_gate           ModelGate: the blessing the Pusher and the next run's Resolver read
  endpoint_cleanup     undeploys the models an endpoint no longer sends traffic to (Vertex AI only)

Locally each runs in-process as a TFX component. On Vertex AI each runs as a container step of
the pipeline image (`pipeline_tools/vertex/containers/pipeline/`, which copies this package),
started by `entrypoint` with the task's executor input; `vertex_steps` builds those steps. The
same functions decide in both places. `artifacts` reads the artifacts they (and the views, the
lineage and the schema tools) open.

Nothing here imports the rest of the repository: the image holds this package only, so editing
anything else never changes it.
"""
