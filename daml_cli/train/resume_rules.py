"""What `--resume` may change: the budget and the reporting, nothing that changes what the run is."""

from __future__ import annotations

from typing import Any

from daml_cli.config.flat import flatten
from daml_cli.config.validate import to_dict
from daml_cli.errors import ConfigError

# Settings a resumed run may change: how long it trains, how often it reports, where and how fast it reads.
RESUMABLE_KEYS = frozenset({
    "train.iterations", "train.eval_every", "train.log_every", "train.batch_size_eval",
    "data.root", "data.workers", "device",
})


def check_resume_changes(saved: Any, requested: Any, run_dir: object) -> None:
    """A ConfigError naming the first setting outside `RESUMABLE_KEYS` that differs from the saved run's."""
    old, new = flatten(to_dict(saved)), flatten(to_dict(requested))
    changed = sorted(key for key in set(old) | set(new) if old.get(key) != new.get(key) and key not in RESUMABLE_KEYS)
    if changed:
        key = changed[0]
        more = f" (and {len(changed) - 1} more: {', '.join(changed[1:4])})" if len(changed) > 1 else ""
        raise ConfigError(
            f"--resume cannot change '{key}' of the run in {run_dir} ({old.get(key)!r} -> {new.get(key)!r}){more}",
            f"only {', '.join(sorted(RESUMABLE_KEYS))} may change on resume; start a new run with another --out",
        )
