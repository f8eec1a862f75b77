"""Commands imported only when they run, so ``rapport --help`` and ``--version`` start fast.

Each command module pulls in SQLAlchemy, Ibis, DuckDB, Polars, NumPy… — seconds of imports
that listing the commands does not need. A :class:`LazyCommand` names where a command lives
(``"module:attribute"``, a function or a ``typer.Typer`` sub-app) and its one-line help; the
:class:`LazyGroup` lists it with that line and imports the module only when the command is
run or its own ``--help`` is asked for.

The help is in the configured language: the English texts of the code, or under
``zh_CN`` the Chinese of :mod:`rapport.i18n.help`, put on each command and parameter when
the group is built (:func:`localize_help`), so the command modules need not know.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, ClassVar

import typer
from typer import _click
from typer.core import TyperCommand, TyperGroup

from rapport.i18n.locale import configured_locale


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
        self.locale = configured_locale()
        localize_help(self, "", self.locale)

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
        command = typer.main.get_group(holder).commands[name]
        localize_help(command, name, getattr(self, "locale", "en"))
        return command


def _first_paragraph(text: str) -> str:
    return " ".join(text.split("\n\n", 1)[0].split())


def localize_help(command: _click.Command, path: str, locale: str) -> None:
    """Put the help texts of ``locale`` on ``command`` (at ``path``, ``""`` for the root),
    its parameters and its subcommands.

    English is the code's own help; for ``zh_CN`` each text comes from
    :mod:`rapport.i18n.help`: the command's by its path, a parameter's by its English help
    (a text without a translation stays as it is: the catalogue test names it). The words
    of the help screens (panel titles, ``[default: …]``) are typer's module settings, set
    for the locale when a help screen is drawn: importing typer's formatter (and Rich's
    Markdown) would cost ``rapport --version`` a third of its start-up.
    """
    if locale != "zh_CN":
        _help_terms(locale)
        return
    from rapport.i18n.help import COMMANDS, HELP_OPTION, PARAMETERS

    command.format_help = _with_terms(command.format_help, locale)  # type: ignore[method-assign]
    text = COMMANDS.get(path)
    if text is not None:
        command.help = text
        command.short_help = _first_paragraph(text)
    for param in command.params:
        english = getattr(param, "help", None)
        if english in PARAMETERS:
            param.help = PARAMETERS[english]  # type: ignore[attr-defined]
    help_option = command.get_help_option(_click.Context(command))
    if help_option is not None and help_option.help == HELP_OPTION[0]:
        help_option.help = HELP_OPTION[1]
    for name, sub in getattr(command, "commands", {}).items():
        localize_help(sub, f"{path} {name}".strip(), locale)


def _with_terms(format_help: Any, locale: str) -> Any:
    """``format_help`` that first sets typer's help-screen words for ``locale``."""

    def localized(ctx: _click.Context, formatter: Any) -> None:
        _help_terms(locale)
        format_help(ctx, formatter)

    return localized


#: typer's own words on the help screens, in English (as typer sets them).
_ENGLISH_TERMS: dict[str, str] = {}


def _help_terms(locale: str) -> None:
    """Set typer's help-screen words (``Options``, ``[default: …]`` …) for ``locale``;
    back to English only when they were changed (typer's formatter may not be loaded)."""
    if locale != "zh_CN" and not _ENGLISH_TERMS:
        return
    from typer import rich_utils

    from rapport.i18n.help import HELP_TERMS

    if not _ENGLISH_TERMS:
        _ENGLISH_TERMS.update({name: getattr(rich_utils, name) for name in HELP_TERMS})
    terms = HELP_TERMS if locale == "zh_CN" else _ENGLISH_TERMS
    for name, text in terms.items():
        setattr(rich_utils, name, text)


def load_command(group: LazyGroup, name: str) -> _click.Command:
    """The real command behind ``name`` (imports it): for tests and tools."""
    command = group.commands[name]
    if isinstance(command, _Placeholder):
        command = group.commands[name] = group._build(name, command.spec)
    return command
