# The README's commands: tutorial and test (the main job and the tests), lab to read the notebook
# in JupyterLab. Each creates .venv first if it is missing.
.PHONY: tutorial test test-fast lab benchmark benchmark-stack-b colab-stand-in
tutorial:  ## Execute the local notebook end to end; results in outputs/local/
	@bash scripts/run_tutorial.sh
test:  ## Run the test suite
	@bash scripts/run_tests.sh
test-fast:  ## The tests that run no pipeline, notebook or blueprint end to end (under 2 minutes)
	@bash scripts/run_tests.sh -m "not slow"
lab:  ## Open the local notebook in JupyterLab, with this environment's kernel
	@bash scripts/run_lab.sh
benchmark:  ## Measure the pipeline (about 35 minutes); report in benchmarks/results/
	@bash scripts/run_benchmark.sh
benchmark-stack-b:  ## The same on stack B (tfx 1.21, Python 3.13) in ../shared's Debian 13 root file system
	@bash scripts/benchmark_stack_b.sh
colab-stand-in:  ## The notebooks as on Google Colab, in Colab's preinstalled packages (root; about 30 min); report in docs/
	@bash scripts/colab_stand_in.sh
