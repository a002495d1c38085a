"""The stand-in's `google.colab`: registered at kernel start (an IPython startup file), as Colab's own is.

Colab's kernel has the `google.colab` package imported; the notebooks take their Colab branch when
`"google.colab" in sys.modules` (the setup cell installs, credentials come from `google.colab.auth`,
views draw Facets). This module is only what the notebooks reach of it: its presence, and `auth`,
whose login cannot happen here (a dry run never calls it). Anything else raises AttributeError.
"""

import sys
import types


def _authenticate_user(*args, **kwargs):
    raise RuntimeError("google.colab.auth: the Colab stand-in cannot sign in (a dry run does not need to)")


colab = types.ModuleType("google.colab", "The Colab stand-in's google.colab (tests/colab_stand_in/google_colab.py).")
colab.auth = types.SimpleNamespace(authenticate_user=_authenticate_user)
sys.modules["google.colab"] = colab
sys.modules["google.colab.auth"] = colab.auth
