"""What an objective needs to know about how it runs: precision, data parallelism, a timer, and the training
classes (for methods with per-class parameters, e.g. HDML's classifier)."""

from __future__ import annotations

from dataclasses import dataclass, field

from daml_cli.train.distributed import Distributed
from daml_cli.train.precision import Precision
from daml_cli.train.timing import SectionTimer


@dataclass
class StepContext:
    precision: Precision = field(default_factory=Precision)
    distributed: Distributed = field(default_factory=Distributed)
    timer: SectionTimer = field(default_factory=SectionTimer)
    class_labels: tuple[int, ...] | None = None  # the training split's label values (None: not known)
