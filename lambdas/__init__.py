"""Lambda functions. Plain Python with boto3 only: they know nothing of troposphere."""
