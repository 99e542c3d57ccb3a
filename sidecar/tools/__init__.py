"""Tools around the runtime, never imported by it: the conformance harness (``harness``), the
mission tour (``demo``) and the console rendering both they and the CLI use (``console``)."""
