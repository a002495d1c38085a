# The two commands of the README. Both create .venv first if it is missing.
.PHONY: tutorial test
tutorial:  ## Execute the local notebook end to end; results in outputs/local/
	@bash scripts/run_tutorial.sh
test:  ## Run the test suite
	@bash scripts/run_tests.sh
