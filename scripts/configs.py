"""`make configs`: the configuration property searched longer than `make test` does.

Samples the configuration's JSON Schema, every field with its bounds (checks/config_space.py):
each configuration the validation accepts is
rendered and put through the whole gate, each it refuses must be refused in one line
naming a field. Prints how many it explored, accepted and gated.

Usage: .venv/bin/python scripts/configs.py [--examples N]
Exit status 1 when an accepted configuration fails the gate or a refusal is malformed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hypothesis import HealthCheck, given, settings  # noqa: E402

from checks.config_space import accept, configurations, field_paths, gate_mapping, schema_path  # noqa: E402
from templates.config import ConfigError  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Sample the configuration schema; gate what the validation accepts.")
    parser.add_argument("--examples", type=int, default=300, help="configurations to explore (default 300)")
    args = parser.parse_args(argv)
    schema = field_paths()
    explored, accepted, broken = [0], [], []

    @settings(max_examples=args.examples, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(configurations())
    def search(mapping):
        explored[0] += 1
        try:
            accept(mapping)
        except ConfigError as refused:
            if "\n" in str(refused) or schema_path(refused.field_path) not in schema:
                broken.append((mapping, [f"malformed refusal: {refused}"]))
            return
        accepted.append(mapping)
        problems = gate_mapping(mapping)
        if problems:
            broken.append((mapping, problems))
        print(f"  {explored[0]} explored, {len(accepted)} accepted and gated ...", file=sys.stderr, flush=True)

    search()
    print(f"configurations: {explored[0]} explored, {explored[0] - len(accepted)} refused, {len(accepted)} accepted and gated, "
          f"{len(broken)} broke the rule")
    for mapping, problems in broken[:5]:
        print(f"  {mapping}:")
        for problem in problems[:5]:
            print(f"    {problem}")
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
