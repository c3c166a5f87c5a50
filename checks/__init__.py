"""What judges rendered output: the cfn-lint gate, size limits, freshness."""
