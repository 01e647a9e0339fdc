"""Shared CLI plumbing: running coroutines, opening the store, typed errors as clean messages."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

import click
from pydantic import ValidationError

from core.errors import AidropError

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])


class AidropGroup(click.Group):
    """Turns aidrop's typed errors into one-line messages with exit code 2, not tracebacks."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except AidropError as exc:
            click.echo(f"error [{exc.code}]: {exc}", err=True)
            sys.exit(2)
        except ValidationError as exc:
            problems = "; ".join(f"{e['loc'][0]}: {e['msg']}" for e in exc.errors())
            click.echo(f"error [CONFIG]: invalid settings: {problems}", err=True)
            sys.exit(2)
        except (FileNotFoundError, ValueError) as exc:
            click.echo(f"error [INPUT]: {exc}", err=True)
            sys.exit(2)


def run(coro_fn: Callable[..., Coroutine[Any, Any, T]], *args: Any) -> T:
    return asyncio.run(coro_fn(*args))


async def with_store(fn: Callable[[Any], Awaitable[T]]) -> T:
    from graph import open_store

    store = open_store()
    try:
        await store.ensure_schema()
        return await fn(store)
    finally:
        await store.close()


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=True, default=str))


def _chain_id(ctx: click.Context, param: click.Parameter, value: int | None) -> int | None:
    from core.chains import check_chain_id
    from core.errors import InvalidChain

    try:
        return None if value is None else check_chain_id(value)
    except InvalidChain as exc:
        raise click.BadParameter(str(exc)) from exc


def chain_option(help: str, name: str = "chain", default: int | None = 1) -> Callable[[F], F]:
    """`--chain ID`: a chain id (core/chains.py), checked; None as default means every chain."""
    show = default is not None
    return click.option(
        "--chain", name, type=int, default=default, show_default=show, callback=_chain_id, help=help
    )
