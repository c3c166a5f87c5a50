"""troposphere modules that render the regional StackSet template, one per concern."""
