"""DR readiness: the checks a failover depends on (``checks.py``), run on a schedule in each
region by ``handler.py`` and from the operator's side by ``build.py failover --dry-run`` and
``build.py status``. ``checks.py`` imports nothing but botocore, so ``ops`` can import it."""
