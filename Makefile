# The two commands of the README. Both create .venv first if it is missing.
.PHONY: tutorial test benchmark
tutorial:  ## Execute the local notebook end to end; results in outputs/local/
	@bash scripts/run_tutorial.sh
test:  ## Run the test suite
	@bash scripts/run_tests.sh
benchmark:  ## Measure the pipeline (about 30 minutes); report in benchmarks/results/
	@bash scripts/run_benchmark.sh
