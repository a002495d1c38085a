"""preflight.py: the stack each environment gets, or the problem and the exact fix."""

import pytest

from pipeline_tools import preflight
from pipeline_tools.preflight import Environment


@pytest.mark.parametrize(
    "python, glibc, colab, installed, stack, needs_install",
    [
        ((3, 13, 5), (2, 39), True, None, "B", True),  # Colab today, fresh session.
        ((3, 12, 11), (2, 35), False, None, None, False),  # Ubuntu 22.04 with Python 3.12: glibc too old.
        ((3, 13, 5), (2, 41), False, "1.21.0", "B", False),  # Debian 13, installed.
        ((3, 10, 13), (2, 36), False, "1.16.0", "A", False),  # This project's machines.
        ((3, 10, 12), (2, 35), True, "0.23.1", "A", True),  # An old Colab runtime after `pip install tfx`.
        ((3, 11, 7), (2, 36), False, None, None, False),  # Debian 12's python3.
        ((3, 14, 0), (2, 41), False, None, None, False),  # Too new for any TFX.
        ((3, 9, 18), (2, 36), False, None, None, False),  # Too old.
        ((3, 10, 13), None, False, None, None, False),  # macOS: no glibc.
    ],
)
def test_each_environment_gets_its_stack_or_none(python, glibc, colab, installed, stack, needs_install):
    diagnosis = preflight.diagnose(Environment(python, glibc, colab, installed))
    assert (diagnosis.stack.name if diagnosis.stack else None) == stack
    assert diagnosis.needs_install == needs_install
    assert bool(diagnosis.problem) == (stack is None) and bool(diagnosis.fix) == (stack is None)


def test_python_311_on_glibc_236_says_use_python_310_and_how():
    diagnosis = preflight.diagnose(Environment((3, 11, 7), (2, 36), False, None))
    assert diagnosis.problem == (
        "Python 3.11 needs tfx 1.21.0, whose wheels need glibc >= 2.39; this system has glibc 2.36"
    )
    assert diagnosis.fix.startswith("Use Python 3.10 (stack A, tfx 1.16)")
    assert "pyenv install 3.10.13" in diagnosis.fix and "PYTHON=/path/to/python3.10 make tutorial" in diagnosis.fix


def test_an_unsupported_colab_python_points_at_the_runtime_version():
    diagnosis = preflight.diagnose(Environment((3, 14, 0), (2, 39), True, None))
    assert "Python 3.14.0 has no TFX release (supported: 3.10, 3.11, 3.12, 3.13)" == diagnosis.problem
    assert "Change runtime type" in diagnosis.fix


def test_the_stacks_match_requirements_txt():
    from conftest import REPO_ROOT

    requirements = (REPO_ROOT / "requirements.txt").read_text()
    for stack in preflight.STACKS:
        assert f"tfx[kfp]=={stack.tfx}" in requirements or f"tfx=={stack.tfx}" in requirements, stack


def test_install_command_installs_the_pins_only():
    command = preflight.install_command("/usr/bin/python3")
    assert command[:4] == ["/usr/bin/python3", "-m", "pip", "install"] and command[-2:] == [
        "-r",
        "requirements-colab.txt",
    ]


def test_report_fits_one_screen_and_names_the_fix():
    text = preflight.report(Environment((3, 11, 7), (2, 36), False, None))
    assert len(text.splitlines()) <= 8
    assert "stack:         none." in text and "fix:           Use Python 3.10" in text
    assert "stack:         B (tfx 1.21.0) - to install" in preflight.report(
        Environment((3, 13, 5), (2, 39), True, None)
    )


def test_this_interpreter_is_diagnosed():
    environment = preflight.current_environment()
    assert environment.python[:2] in [version for stack in preflight.STACKS for version in stack.pythons]
    assert preflight.diagnose(environment).stack is not None  # The test suite runs on a stack.


def test_run_with_progress_prints_each_line_as_it_comes_and_raises_on_failure(capsys, tmp_path):
    import subprocess
    import sys

    preflight.run_with_progress([sys.executable, "-c", "print('Collecting tfx'); print('Installing')"], str(tmp_path))
    assert capsys.readouterr().out == "Collecting tfx\nInstalling\n"
    with pytest.raises(subprocess.CalledProcessError):
        preflight.run_with_progress([sys.executable, "-c", "import sys; print('no'); sys.exit(3)"], str(tmp_path))


def test_an_older_colab_runtime_points_at_the_default_runtime():
    """Colab's runtime versions up to 26.07 run Python 3.11/3.12 on glibc 2.35: the fix is Colab's, not Debian's."""
    diagnosis = preflight.diagnose(Environment((3, 12, 11), (2, 35), True, None))
    assert diagnosis.stack is None and "glibc >= 2.39" in diagnosis.problem
    assert diagnosis.fix.startswith("Switch to Colab's default runtime") and "make tutorial" not in diagnosis.fix
