"""Repeating jobs on PTB's JobQueue, one per name, removed at stop."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from telegram.ext import Application, ContextTypes

Job = Callable[[ContextTypes.DEFAULT_TYPE], Awaitable[None]]


def repeat(application: Application[Any, Any, Any, Any, Any, Any], job: Job, seconds: float,
           name: str) -> None:
    """Run ``job`` every ``seconds`` (0: never), first after one interval."""
    queue = application.job_queue
    if queue is not None and seconds > 0 and not queue.get_jobs_by_name(name):
        queue.run_repeating(job, interval=seconds, first=seconds, name=name)


def stop_repeating(application: Application[Any, Any, Any, Any, Any, Any], name: str) -> None:
    if application.job_queue is not None:
        for scheduled in application.job_queue.get_jobs_by_name(name):
            scheduled.schedule_removal()
