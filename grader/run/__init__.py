"""Phase 1, untrusted: the harness that runs in the sandbox (`runner`), the sandbox itself,
and the executors that run it here (`local`) or on a Dask cluster (`cluster`)."""
