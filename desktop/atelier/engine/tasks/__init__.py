"""One module per task; each registers its function with `atelier.engine.runner.task`."""
