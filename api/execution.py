"""One GraphQL operation executed by graphql-core on strawberry's schema directly.

strawberry's `Schema.execute` builds an execution context, instantiates the extensions and runs
four async hooks around every operation. For a query whose parse and validation are cached and
clean (what a frontend sends, again and again) none of that does anything aidrop needs, so the
document goes straight to graphql-core with strawberry's executor class. Everything else (parse
or validation errors, a missing or unknown operation, subscriptions) returns None and takes
strawberry's path, which reports it as before.

Which fields an object's selection asks for (graphql-core's field collection, once per object
per request) depends only on the document when it has no directives (@skip, @include, @defer
need the variables): for such documents it is collected once and shared by every request.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from graphql import (
    DocumentNode,
    ExecutionResult,
    GraphQLError,
    GraphQLObjectType,
    OperationDefinitionNode,
    execute,
)
from graphql.execution.collect_fields import CollectedFields, FieldDetailsList
from strawberry.execution.is_awaitable import optimized_is_awaitable
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.types.graphql import OperationType

OPERATION_TYPES = {"query": OperationType.QUERY, "mutation": OperationType.MUTATION}
SHARED_DOCUMENTS = 1024

# id(document) -> (document, collected fields by (type, field node ids)); the document is kept
# alive with its entry, so the ids in the keys stay its nodes'.
_shared: dict[int, tuple[DocumentNode, dict[tuple, CollectedFields]]] = {}


def shared_fields(document: DocumentNode, query: str) -> dict[tuple, CollectedFields] | None:
    """The document's collected fields shared across requests; None if it has directives."""
    if "@" in query:  # a directive, or an @ in a string: collect per request
        return None
    entry = _shared.get(id(document))
    if entry is None or entry[0] is not document:
        if len(_shared) >= SHARED_DOCUMENTS:
            _shared.clear()
        entry = _shared[id(document)] = (document, {})
    return entry[1]


class SharedFieldsExecutor(StrawberryGraphQLCoreExecutionContext):
    """strawberry's executor, collecting sub-fields from a cache shared across requests."""

    def __init__(self, *args: Any, shared: dict[tuple, CollectedFields] | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.shared = shared

    def build_response(self, data: dict[str, Any] | None) -> Any:
        """The response; then the executor's cycle with its own bound methods (async_helpers) is
        broken, so a request leaves no garbage for the cyclic collector (whose pauses were the
        API's slowest responses) unless work goes on in the background."""
        result = super().build_response(data)
        if not self.background_futures and not self.pending_incremental_futures:
            self.async_helpers = None  # type: ignore[assignment]  # unused after the response; breaks a cycle
        return result

    def collect_subfields(
        self, return_type: GraphQLObjectType, field_details_list: FieldDetailsList
    ) -> CollectedFields:
        if self.shared is None:
            return super().collect_subfields(return_type, field_details_list)
        key = (return_type, *[id(d.node) for d in field_details_list])
        found = self.shared.get(key)
        if found is None:
            found = self.shared[key] = super().collect_subfields(return_type, field_details_list)
        return found


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
    prepare = getattr(schema.extensions[0], "prepare", None) if len(schema.extensions) == 1 else None
    if schema.directives or prepare is None:
        return None  # only aidrop's one extension (api.safety.guard) is known to be safe to skip
    try:
        document, errors = prepare(schema._schema, query)
    except GraphQLError:
        return None
    operation = _operation(document, operation_name) if not errors else None
    if operation is None or OPERATION_TYPES.get(operation.operation.value) not in allowed:
        return None
    extra: dict[str, Any] = {"executor_class": schema.execution_context_class}
    if schema.execution_context_class is StrawberryGraphQLCoreExecutionContext:
        extra = {"executor_class": SharedFieldsExecutor, "shared": shared_fields(document, query)}
    try:
        result = execute(
            schema._schema,
            document,
            context_value=context,
            variable_values=variables,
            operation_name=operation_name,
            is_awaitable=optimized_is_awaitable,  # type: ignore[arg-type]  # a plain bool check where graphql-core types a TypeGuard
            operation_extensions=None,
            **extra,
        )
        if not isinstance(result, ExecutionResult):
            result = await result
    except Exception as exc:  # as strawberry does: an error in the result, never a 500
        return ExecutionResult(
            None, [exc if isinstance(exc, GraphQLError) else GraphQLError(str(exc), original_error=exc)]
        )
    return result
