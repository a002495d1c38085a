"""Everything around the tutorial's two files: how to configure, check, run and look at the pipeline.

`module.py` (what the model is) and `base_pipeline.py` (how the components connect) stay at the
top of the repository: they are the tutorial. TFX packs every `.py` beside `module.py` into the
user-code wheel that keys Transform's and Trainer's cache, so all other code lives here, one
module per job:

  columns         the data's columns, named once (standard library only)
  settings        PipelineSettings: every setting of the pipeline, its default and its check
  csv_check       refuses CSV files CsvExampleGen cannot read, naming file and line
  schema          the curated schema: how it is made from SchemaGen's, read and checked
  components/     the pipeline's own TFX components (the gates, the training statistics, the endpoint clean-up)
  prepare_data    converts a CFPB export into the tutorial's CSV
  serving         the pushed model: latest version, raw rows in, probabilities out
  views           static tables and charts of the artifacts (Colab, JupyterLab, saved notebooks)
  preflight       which TFX stack this Python and glibc can run, or the exact fix
  notebook        the notebooks' setup: diagnosis, install on Colab, paths, quiet logs
  notebook_policy what committed notebooks may keep (outputs nbval checks, nothing else)
  local_runner    the whole pipeline under LocalDagRunner: python -m pipeline_tools.local_runner
  vertex/         the same pipeline on Vertex AI Pipelines: settings, staging, blueprint, endpoint, runner
"""
