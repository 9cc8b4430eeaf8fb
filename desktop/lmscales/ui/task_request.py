"""What the input panels hold, as the session takes it: a `TaskInput` and its `GenerationParams`."""

from __future__ import annotations

from lmscales.core.trial import GenerationParams, TaskInput
from lmscales.ui.generation_panel import GenerationPanel
from lmscales.ui.task_inputs import TaskPanel


def task_input(tasks: TaskPanel, generation: GenerationPanel) -> TaskInput:
    """`TaskInputError` for input the task cannot use."""
    return tasks.task_input(generation.system_prompt_for(tasks.current_task) or None)


def generation_params(generation: GenerationPanel) -> GenerationParams:
    return generation.params()
