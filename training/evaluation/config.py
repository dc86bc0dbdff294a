"""Settings of one evaluation run, recorded (and hashed) in every result file."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from pycodesmall.training.evaluation.generation import Sampling
from pycodesmall.training.evaluation.sandbox import SandboxLimits

__all__ = ["EvalConfig"]

# Where and how fast a run happens does not change its numbers.
WALL_CLOCK_FACTOR = 3.0
_RUN_ONLY = ("workers", "data_dir", "corpus")
# batch_size stays hashed: with sampling, seeds are per batch.


@dataclass(frozen=True)
class EvalConfig:
    n: int = 1
    temperature: float = 0.0
    top_p: float = 0.95
    repetition_penalty: float = 1.0  # plain decoding, as benchmark protocols use
    max_new_tokens: int = 384  # cap for a function; the context may leave less (generation.py)
    seed: int = 0
    batch_size: int = 8
    limit: int | None = None  # first N problems or files per task, for smoke runs
    corpus_files: int | None = None  # a seeded sample of N held-out files; None: all of them
    mbpp_variant: str = "sanitized"  # or "full" (test split, task_ids 11-510)
    mbpp_shots: int = 0  # 0: description + one test as a docstring; 3: Austin et al.'s prompt
    lines_per_file: int = 10
    functions_per_file: int = 3
    timeout_s: float = 10.0  # CPU seconds per test program; see `limits`
    workers: int | None = None
    data_dir: str | None = None
    corpus: str | None = None

    def __post_init__(self):
        if self.mbpp_variant not in ("sanitized", "full"):
            raise ValueError(
                f"mbpp_variant must be 'sanitized' or 'full', got {self.mbpp_variant!r}")
        if self.mbpp_shots not in (0, 3):
            raise ValueError(f"mbpp_shots must be 0 or 3, got {self.mbpp_shots}")
        if self.n < 1:
            raise ValueError(f"n must be at least 1, got {self.n}")
        if self.n > 1 and self.temperature == 0:
            raise ValueError(f"n = {self.n} samples at temperature 0 are {self.n} copies of the "
                             "greedy one: pass@k needs a temperature above 0")

    @property
    def sampling(self) -> Sampling:
        return Sampling(n=self.n, temperature=self.temperature, top_p=self.top_p,
                        repetition_penalty=self.repetition_penalty,
                        max_new_tokens=self.max_new_tokens, seed=self.seed,
                        batch_size=self.batch_size)

    @property
    def limits(self) -> SandboxLimits:
        """The CPU-time limit is the one that binds: on a shared machine a correct but
        slow solution may wait for a core, so the wall clock gets WALL_CLOCK_FACTOR times
        as long and only catches programs that sleep or block."""
        return SandboxLimits(timeout_s=WALL_CLOCK_FACTOR * self.timeout_s,
                             cpu_s=max(1, round(self.timeout_s)))

    def settings(self) -> dict:
        """The settings that affect the numbers: recorded and hashed as the config."""
        return {key: value for key, value in asdict(self).items() if key not in _RUN_ONLY}

    def run_settings(self) -> dict:
        """Where the inputs came from and how fast it ran: recorded, not hashed."""
        return {key: getattr(self, key) for key in _RUN_ONLY}
