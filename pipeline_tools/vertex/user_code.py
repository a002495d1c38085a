"""The model's code on Vertex AI: module.py in TFX's user-code wheel, staged with the other inputs.

Transform and Trainer load `module.py` in their tasks; with Dataflow, Transform's Beam workers
need it too (with TF2 behaviour, the default, they unpickle functions of the user module), and a
module file loaded from source is `user_module_0` there, which no worker can import. TFX's answer
is the user-code wheel: every `.py` beside module.py packed as `tfx_user_code_<name>-0.0+<hash>`,
which each task installs before importing `module` by its own name, and which Transform and the
Evaluator hand to Beam as `--extra_package`, so Dataflow installs it on every worker.

TFX builds that wheel while compiling and copies it to `{pipeline_root}/_wheels`, which needs
Cloud Storage at compile time. Here the same TFX function builds it offline, the runner uploads it
with the data, and the components read it through the two execution properties TFX's own
packaging sets (`module_path`, and `module_file` cleared: services.with_user_code), so a dry run
compiles exactly the blueprint a real run submits. The hash in the wheel's name is what keeps Vertex AI's cache honest:
changed code is a new path, hence a new parameter of Transform and Trainer.
"""

import os

WHEEL_NAME = "cfpb_model"  # The wheel's distribution: tfx_user_code_cfpb_model-0.0+<hash>-py3-none-any.whl.


def package(module_file: str, wheels_dir: str) -> str:
    """Builds the user-code wheel of module_file's folder into wheels_dir/_wheels; returns its path."""
    from tfx.components.util import udf_utils

    wheel, _ = udf_utils.package_user_module_file(WHEEL_NAME, os.path.abspath(module_file), wheels_dir)
    return wheel


def module_path(module_file: str, wheel_uri: str) -> str:
    """What a component's `module_path` property holds: the module's name, '@', the wheel."""
    return f"{os.path.splitext(os.path.basename(module_file))[0]}@{wheel_uri}"
