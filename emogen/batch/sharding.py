"""Which jobs this process runs, on which device, and waiting for the other processes at the end.

Under ``accelerate launch`` (or torchrun) every process reads the same job file and takes the jobs
whose index i has i % world == rank: every job belongs to exactly one rank, whatever the manifest
says, so two ranks never race for a job. Alone, a process is rank 0 of 1 and needs no Accelerate.
"""
from __future__ import annotations

import datetime
import os
from dataclasses import dataclass
from typing import Callable

# Ranks finish their shards at different times; the one barrier at the end must outwait the slowest.
BARRIER_TIMEOUT = datetime.timedelta(hours=48)


@dataclass(frozen=True)
class Shard:
    rank: int
    world: int
    device: str
    wait_for_everyone: Callable[[], None]

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def owns(self, index: int) -> bool:
        return index % self.world == self.rank


def detect_shard(device: str) -> Shard:
    """Rank, world size and device from the launcher's environment; ``device`` is "cpu" or "cuda"."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return Shard(0, 1, device, lambda: None)
    from accelerate import Accelerator, InitProcessGroupKwargs

    accelerator = Accelerator(cpu=device == "cpu",
                              kwargs_handlers=[InitProcessGroupKwargs(timeout=BARRIER_TIMEOUT)])
    return Shard(accelerator.process_index, accelerator.num_processes, str(accelerator.device),
                 accelerator.wait_for_everyone)
