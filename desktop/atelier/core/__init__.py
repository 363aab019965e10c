"""Pure-Python core: requests, results, jobs and their queue, settings, errors. No Qt, no onnxruntime."""
