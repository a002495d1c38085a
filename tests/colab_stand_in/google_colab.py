"""The stand-in's `google.colab`: registered at kernel start (an IPython startup file), as Colab's own is.

Colab's kernel has the `google.colab` package imported; the notebooks take their Colab branch when
`"google.colab" in sys.modules` (the setup cell installs, credentials come from `google.colab.auth`,
views draw Facets). This module is only what the notebooks reach of it: its presence; `auth`, whose login cannot
happen here (a dry run never calls it); and `output`, which TensorFlow Model Analysis imports
whenever `google.colab` is (tensorflow_model_analysis/notebook/colab/util.py: `from google.colab
import output`, so `import tensorflow_model_analysis` fails without it) and calls only to draw its
own widgets, which the notebooks never do. Calling either raises; any other name is an
AttributeError.
"""

import sys
import types


def _authenticate_user(*args, **kwargs):
    raise RuntimeError("google.colab.auth: the Colab stand-in cannot sign in (a dry run does not need to)")


def _no_browser(*args, **kwargs):
    raise RuntimeError("google.colab.output: the Colab stand-in has no browser to draw in or call back from")


colab = types.ModuleType("google.colab", "The Colab stand-in's google.colab (tests/colab_stand_in/google_colab.py).")
colab.auth = types.SimpleNamespace(authenticate_user=_authenticate_user)
colab.output = types.ModuleType("google.colab.output", "The stand-in's google.colab.output: nothing draws here.")
colab.output.register_callback = colab.output.eval_js = _no_browser
sys.modules["google.colab"] = colab
sys.modules["google.colab.auth"] = colab.auth
sys.modules["google.colab.output"] = colab.output
