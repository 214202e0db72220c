"""`paspor chaos`: faults injected into the local cluster under a steady booking load, then the audit."""
