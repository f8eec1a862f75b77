"""Commands imported only when they run, so ``rapport --help`` and ``--version`` start fast.

Each command module pulls in SQLAlchemy, Ibis, DuckDB, Polars, NumPy… — seconds of imports
that listing the commands does not need. A :class:`LazyCommand` names where a command lives
(``"module:attribute"``, a function or a ``typer.Typer`` sub-app) and its one-line help; the
:class:`LazyGroup` lists it with that line and imports the module only when the command is
run or its own ``--help`` is asked for.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, ClassVar

import typer
from typer import _click
from typer.core import TyperCommand, TyperGroup


@dataclass(frozen=True)
class LazyCommand:
    """Where a command lives and its help line in ``rapport --help``.

    Parameters
    ----------
    target
        ``"package.module:attribute"``: a command function or a ``typer.Typer`` sub-app.
    help
        The first paragraph of the command's own help, on one line (a test checks that the
        two agree).
    """

    target: str

    help: str

    def load(self) -> Any:
        """Import the module and return the function or sub-app it names."""
        module_name, _, attribute = self.target.partition(":")
        return getattr(importlib.import_module(module_name), attribute)


class _Placeholder(TyperCommand):
    """Stands for a lazy command in the listing; resolved before it parses anything."""

    def __init__(self, name: str, spec: LazyCommand) -> None:
        super().__init__(name, short_help=spec.help, help=spec.help)
        self.spec = spec


class LazyGroup(TyperGroup):
    """A Typer group whose :attr:`lazy_commands` are imported on first use.

    Subclasses set ``lazy_commands`` (name → :class:`LazyCommand`), listed in that order
    before the commands registered eagerly on the Typer app.
    """

    lazy_commands: ClassVar[dict[str, LazyCommand]] = {}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        eager = dict(self.commands)
        self.commands = {
            **{name: _Placeholder(name, spec) for name, spec in self.lazy_commands.items()},
            **eager,
        }

    def get_command(self, ctx: _click.Context, cmd_name: str) -> _click.Command | None:
        """The command (a placeholder carrying the help line while not yet imported)."""
        return self.commands.get(cmd_name)

    def resolve_command(
        self, ctx: _click.Context, args: list[str]
    ) -> tuple[str | None, _click.Command | None, list[str]]:
        """Resolve as Typer does, then import the command that is about to run."""
        name, command, rest = super().resolve_command(ctx, args)
        if name is not None and isinstance(command, _Placeholder):
            command = self.commands[name] = self._build(name, command.spec)
        return name, command, rest

    def _build(self, name: str, spec: LazyCommand) -> _click.Command:
        target = spec.load()
        holder = typer.Typer(
            rich_markup_mode=self.rich_markup_mode,
            pretty_exceptions_enable=False,
            add_completion=False,
        )
        if isinstance(target, typer.Typer):
            holder.add_typer(target, name=name)
        else:
            holder.command(name)(target)
        return typer.main.get_group(holder).commands[name]


def load_command(group: LazyGroup, name: str) -> _click.Command:
    """The real command behind ``name`` (imports it): for tests and tools."""
    command = group.commands[name]
    if isinstance(command, _Placeholder):
        command = group.commands[name] = group._build(name, command.spec)
    return command
