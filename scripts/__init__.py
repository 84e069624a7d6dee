"""Developer scripts: the demo (`make demo`) and its data generator."""
