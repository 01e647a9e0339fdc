"""Lean resolvers for simple strawberry fields.

strawberry calls every field with a resolver through its own machinery: an `Info` built, the
arguments converted one by one, a chain of field extensions (even an empty one) reduced into a
callable, and for async resolvers one more coroutine around the resolver's. For a field without
extensions or permissions whose arguments are plain scalars (str, int, float, bool), that comes
to calling the method with the source, the arguments under their Python names and the Info it
asks for. `lean_resolvers` gives such fields a resolver that does just that (graphql-core awaits
what an async resolver returns), and fields without a resolver one reading the attribute; the
others keep strawberry's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphql import GraphQLObjectType, GraphQLResolveInfo
from strawberry.types.base import StrawberryOptional
from strawberry.types.field import StrawberryField

PLAIN = (str, int, float, bool)
BACKREF = "strawberry-definition"


def _plain(type_: Any) -> bool:
    while type(type_) is StrawberryOptional:  # not its subclass Maybe, which wraps the value
        type_ = type_.of_type
    return type_ in PLAIN


def lean_resolver(schema: Any, field: StrawberryField) -> Callable[..., Any] | None:
    """A resolver calling the field's method directly, or None when the field needs more."""
    resolver = field.base_resolver
    if resolver is None or field.extensions or not callable(resolver.wrapped_func):
        return None
    if resolver.parent_parameter or resolver.root_parameter:
        return None
    if not all(_plain(a.type) for a in field.arguments):
        return None
    names = {schema.config.name_converter.from_argument(a): a.python_name for a in field.arguments}
    renamed = {k: v for k, v in names.items() if k != v}
    fn = resolver.wrapped_func
    info_name = resolver.info_parameter.name if resolver.info_parameter else None
    info_class = schema.config.info_class
    with_self = resolver.self_parameter is not None

    def resolve(source: Any, info: GraphQLResolveInfo, **kwargs: Any) -> Any:
        for graphql_name, python_name in renamed.items():
            if graphql_name in kwargs:
                kwargs[python_name] = kwargs.pop(graphql_name)
        if info_name is not None:
            kwargs[info_name] = info_class(_raw_info=info, _field=field)
        return fn(source, **kwargs) if with_self else fn(**kwargs)

    return resolve


def attribute_resolver(field: StrawberryField) -> Callable[..., Any] | None:
    """The attribute itself for a field without resolver (strawberry's default_resolver)."""
    if field.base_resolver is not None or field.extensions or field.default_resolver is not getattr:
        return None
    name = field.python_name

    def resolve(source: Any, info: GraphQLResolveInfo, **kwargs: Any) -> Any:
        return getattr(source, name)

    return resolve


def lean_resolvers(schema: Any) -> int:
    """Installs lean resolvers on the simple fields of every type but subscriptions; how many."""
    skip = schema._schema.subscription_type
    count = 0
    for type_ in schema._schema.type_map.values():
        if not isinstance(type_, GraphQLObjectType) or type_ is skip or type_.name.startswith("__"):
            continue
        for gql_field in type_.fields.values():
            field = (gql_field.extensions or {}).get(BACKREF)
            if not isinstance(field, StrawberryField):
                continue
            if resolve := lean_resolver(schema, field) or attribute_resolver(field):
                gql_field.resolve = resolve
                count += 1
    return count
