"""The only package that imports SpiffWorkflow.

The rest of the application sees ProcessDefinition (a deployed process), CaseRun (one case's
workflow during one write) and ReadyTask (what the inbox projection stores).
"""
from .definitions import DefinitionError, ProcessDefinition, TaskDef, load_definition  # noqa: F401
from .expressions import ExpressionError  # noqa: F401
from .forms import FormError, clean_data, field_titles, load_form, resolve_options, validate  # noqa: F401
from .runtime import CaseRun, EngineError, ReadyTask  # noqa: F401
