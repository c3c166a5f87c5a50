"""IAM policy documents built with awacs, one module per role family."""
