# The README's commands: tutorial and test (the main job and the tests), lab to read the notebook
# in JupyterLab. Each creates .venv first if it is missing.
.PHONY: tutorial test lab benchmark
tutorial:  ## Execute the local notebook end to end; results in outputs/local/
	@bash scripts/run_tutorial.sh
test:  ## Run the test suite
	@bash scripts/run_tests.sh
lab:  ## Open the local notebook in JupyterLab, with this environment's kernel
	@bash scripts/run_lab.sh
benchmark:  ## Measure the pipeline (about 30 minutes); report in benchmarks/results/
	@bash scripts/run_benchmark.sh
