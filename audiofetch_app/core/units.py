"""Sizes, speeds and a job's progress in words, shared by every face."""

from __future__ import annotations

from audiofetch_app.core.job_record import Job


def human_bytes(n: float | None) -> str:
    if n is None:
        return "?"
    for unit in ("B", "KB", "MB", "GB"):
        if abs(n) < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"


def describe_progress(job: Job) -> str:
    """'12.0 MB/40.0 MB  3/10 items  1.2 MB/s' with what is known."""
    parts = []
    if job.bytes_total:
        parts.append(f"{human_bytes(job.bytes_done)}/{human_bytes(job.bytes_total)}")
    elif job.bytes_done:
        parts.append(human_bytes(job.bytes_done))
    if job.items_total:
        parts.append(f"{job.items_done}/{job.items_total} items")
    if job.speed and job.active:
        parts.append(f"{human_bytes(job.speed)}/s")
    return "  ".join(parts)
