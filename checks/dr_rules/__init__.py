"""The project's own cfn-lint rules: the DR invariants that no general linter checks.

cfn-lint loads this directory itself (``append_rules``, passed by ``checks/lint.py``): it
imports every module whose name starts with a letter as a top-level module and registers
each rule class found in it. So shared code lives in ``_intrinsics.py``, which that loader
skips, and rule modules import it by its package name and never import each other.

Ids: E9001-E9010 for the DR invariants, W9101-W9103 for nearing CloudFormation's limits.
"""
