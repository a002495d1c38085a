"""What the repository must never hold: credentials, tokens, personal paths, or run outputs.

Scans the files git tracks (committed notebook outputs included), and checks that .gitignore
keeps what the pipeline and the notebooks write out of commits.
"""

import re
import shutil
import subprocess
import sys

import pytest

from conftest import REPO_ROOT

SECRETS = {
    "a private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    "a service-account key file": re.compile(r'"private_key(_id)?"\s*:'),
    "an OAuth access token": re.compile(r"\bya29\.[0-9A-Za-z_-]{20,}"),
    "a Google API key": re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b"),
    "a personal home folder": re.compile(r"(?<![\w.])(/home/[a-z][\w.-]*/|/Users/[A-Za-z][\w.-]*/|C:\\\\Users\\\\)"),
}

needs_git = pytest.mark.skipif(
    shutil.which("git") is None or not (REPO_ROOT / ".git").exists(), reason="needs a git checkout"
)


def _tracked_files():
    listing = subprocess.run(["git", "ls-files", "-z"], cwd=REPO_ROOT, capture_output=True, check=True)
    return [REPO_ROOT / name for name in listing.stdout.decode().split("\0") if name]


@needs_git
def test_no_credentials_tokens_or_personal_paths_are_tracked():
    found = []
    for path in _tracked_files():
        if path.suffix == ".csv" or not path.is_file():
            continue  # The data is public CFPB text, scanned by its own provenance test.
        text = path.read_text(encoding="utf-8", errors="replace")
        found += [f"{path.relative_to(REPO_ROOT)}: {what}" for what, pattern in SECRETS.items() if pattern.search(text)]
    assert not found


# Built from pieces, so that this file does not hold what it scans for.
@pytest.mark.parametrize(
    "text, what",
    [
        ("-----BEGIN RSA " + "PRIVATE KEY-----", "a private key"),
        ('{"type": "service_account", "private_key' + '_id": "abc"}', "a service-account key file"),
        ("Authorization: Bearer ya29" + ".a0AfH6SMBx-abcdefghijklmnopqrstuvwxyz", "an OAuth access token"),
        ("key=AIza" + "SyA-abcdefghijklmnopqrstuvwxyz01234", "a Google API key"),
        ("open('/ho" + "me/alice/project/data.csv')", "a personal home folder"),
    ],
)
def test_the_scan_recognizes_each_kind(text, what):
    assert SECRETS[what].search(text)


@needs_git
@pytest.mark.parametrize(
    "path",
    [
        ".venv/bin/python",
        "outputs/local/tfx_pipeline_interactive.ipynb",
        "outputs/vertex_ai/cfpb-consumer-disputes.json",
        "pipeline_root/CsvExampleGen/examples/1/data.gz",
        "serving_model/1700000000/saved_model.pb",
        "notebooks/local/metadata.sqlite",
        "notebooks/local/.ipynb_checkpoints/x.ipynb",
        "module.cpython-310.pyc",
    ],
)
def test_run_outputs_and_environments_are_ignored(path):
    result = subprocess.run(["git", "check-ignore", "--no-index", "-q", path], cwd=REPO_ROOT)
    assert result.returncode == 0, f"{path} would be committed"


def _ruff(*arguments):
    return subprocess.run(
        [sys.executable, "-m", "ruff", *arguments, "."], cwd=REPO_ROOT, capture_output=True, text=True
    )


def test_ruff_finds_nothing_and_the_code_is_formatted():
    """The settings in pyproject.toml, as the pre-commit hooks apply them (notebooks included)."""
    lint = _ruff("check", "--no-cache")
    assert lint.returncode == 0, lint.stdout[-3000:]
    formatted = _ruff("format", "--check", "--no-cache")
    assert formatted.returncode == 0, formatted.stdout[-3000:]


def test_committed_notebooks_keep_only_the_outputs_nbval_checks(tmp_path):
    import nbformat

    from pipeline_tools import notebook_policy

    assert notebook_policy.main(["--check"]) == 0
    # The check is not vacuous: an executed cell's output, count and papermill metadata are found.
    notebook = nbformat.read(str(REPO_ROOT / "notebooks" / "local" / "tfx_pipeline_interactive.ipynb"), 4)
    notebook.cells[2].outputs = [nbformat.v4.new_output("stream", name="stdout", text="repository: /x\n")]
    notebook.cells[2].execution_count = 3
    notebook.metadata["papermill"] = {"duration": 1.0}
    nbformat.write(notebook, str(tmp_path / "run.ipynb"))
    assert notebook_policy.main(["--check", str(tmp_path / "run.ipynb")]) == 1
    assert notebook_policy.main([str(tmp_path / "run.ipynb")]) == 0
    assert notebook_policy.main(["--check", str(tmp_path / "run.ipynb")]) == 0
    checked = [cell for cell in nbformat.read(str(tmp_path / "run.ipynb"), 4).cells if cell.get("outputs")]
    assert checked and all(cell.source.startswith("# NBVAL_CHECK_OUTPUT") for cell in checked)
    assert all(cell.execution_count is not None for cell in checked)  # nbval skips them otherwise.


def _repository() -> tuple[str, str]:
    """(URL, owner/name) of the repository, from its one home: pyproject.toml's [project.urls]."""
    try:
        import tomllib
    except ImportError:  # Python 3.10: pytest's own dependency.
        import tomli as tomllib
    url = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["urls"]["Repository"]
    return url, url.removeprefix("https://github.com/")


def test_the_repository_address_has_one_home_that_badges_setup_cells_and_readme_agree_with():
    url, slug = _repository()
    readme = (REPO_ROOT / "README.md").read_text()
    notebooks = {path.name: path.read_text() for path in sorted((REPO_ROOT / "notebooks").glob("*/*.ipynb"))}
    for text in [readme, *notebooks.values()]:
        badges = re.findall(r"https://colab\.research\.google\.com/github/([^/]+/[^/]+)/blob/main/(\S+?\.ipynb)", text)
        assert badges and {found for found, _ in badges} == {slug}
        for _, path in badges:
            assert (REPO_ROOT / path).is_file(), path
        assert {found.removesuffix(".git") for found in re.findall(r"https://github\.com/[\w.-]+/[\w.-]+", text)} <= {
            url
        }
    for name, text in notebooks.items():
        assert f'"{url}.git"' in text.replace('\\"', '"'), name  # The setup cell's git clone.
        assert f'Path(\\"/content/{slug.split("/")[1]}\\")' in text, name
