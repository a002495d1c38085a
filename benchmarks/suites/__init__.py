"""The benchmark's suites, one module each; each measure_* returns what its report section reads."""
