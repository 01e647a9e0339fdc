"""One GraphQL operation executed by graphql-core on strawberry's schema directly.

strawberry's `Schema.execute` builds an execution context, instantiates the extensions and runs
four async hooks around every operation. For a query whose parse and validation are cached and
clean (what a frontend sends, again and again) none of that does anything aidrop needs, so the
document goes straight to graphql-core with strawberry's executor class. Everything else (parse
or validation errors, a missing or unknown operation, subscriptions) returns None and takes
strawberry's path, which reports it as before.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from graphql import ExecutionResult, GraphQLError, OperationDefinitionNode, execute
from strawberry.execution.is_awaitable import optimized_is_awaitable
from strawberry.types.graphql import OperationType

OPERATION_TYPES = {"query": OperationType.QUERY, "mutation": OperationType.MUTATION}


def _operation(document: Any, name: str | None) -> OperationDefinitionNode | None:
    """The operation to run: the named one, or the only one."""
    found = None
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            if name is None:
                if found is not None:
                    return None
                found = definition
            elif definition.name is not None and definition.name.value == name:
                return definition
    return found


async def execute_direct(
    schema: Any,
    query: str,
    variables: dict[str, Any] | None,
    context: Any,
    operation_name: str | None,
    allowed: Collection[OperationType],
) -> ExecutionResult | None:
    """The result, or None when strawberry's own path should run the operation."""
    if schema.directives or len(schema.extensions) != 1:
        return None  # only aidrop's one extension (api.safety.guard) is known to be safe to skip
    try:
        document, errors = schema.extensions[0].prepare(schema._schema, query)
    except GraphQLError:
        return None
    operation = _operation(document, operation_name) if not errors else None
    if operation is None or OPERATION_TYPES.get(operation.operation.value) not in allowed:
        return None
    try:
        result = execute(
            schema._schema,
            document,
            context_value=context,
            variable_values=variables,
            operation_name=operation_name,
            executor_class=schema.execution_context_class,
            is_awaitable=optimized_is_awaitable,
            operation_extensions=None,
        )
        if not isinstance(result, ExecutionResult):
            result = await result
    except Exception as exc:  # as strawberry does: an error in the result, never a 500
        return ExecutionResult(
            None, [exc if isinstance(exc, GraphQLError) else GraphQLError(str(exc), original_error=exc)]
        )
    return result
