"""Commands imported only when they run, so ``rapport --help`` and ``--version`` start fast.

Each command module pulls in SQLAlchemy, Ibis, DuckDB, Polars, NumPy… — seconds of imports
that listing the commands does not need. A :class:`LazyCommand` names where a command lives
(``"module:attribute"``, a function or a ``typer.Typer`` sub-app) and its one-line help; the
:class:`LazyGroup` lists it with that line and imports the module only when the command is
run or its own ``--help`` is asked for.

The help is in the configured language: the English texts of the code, or under
``zh_CN`` the Chinese of :mod:`rapport.i18n.help`, put on each command and parameter when
the group is built (:func:`localize_help`), so the command modules need not know. So are
typer's usage errors (an unknown option, a missing argument, a value of the wrong type):
the group turns them into the configured language as they are raised
(:func:`usage_error_text`), with the usage line, the help suggestion and exit code 2 typer
gives them.
"""

from __future__ import annotations

import importlib
import re
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

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: _click.Context | None = None,
        **extra: Any,
    ) -> _click.Context:
        """Parse the group's own options; a usage error in the configured language."""
        with _localized_errors(self.locale):
            return super().make_context(info_name, args, parent, **extra)

    def invoke(self, ctx: _click.Context) -> Any:
        """Run the command; a usage error of its own options in the configured language."""
        with _localized_errors(self.locale):
            return super().invoke(ctx)

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
    from rapport.i18n.help import COMMANDS, HELP_OPTION, PARAMETERS, USAGE_TERMS

    command.format_help = _with_terms(command.format_help, locale)  # type: ignore[method-assign]
    command.format_usage = _usage_line(command)  # type: ignore[method-assign]
    if command.options_metavar == USAGE_TERMS["options"][0]:
        command.options_metavar = USAGE_TERMS["options"][1]
    if getattr(command, "subcommand_metavar", None) == USAGE_TERMS["commands"][0]:
        command.subcommand_metavar = USAGE_TERMS["commands"][1]  # type: ignore[attr-defined]
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


def _usage_line(command: _click.Command) -> Any:
    """``format_usage`` of ``command`` with the Chinese prefix (``用法：``)."""
    from rapport.i18n.help import USAGE_TERMS

    def localized(ctx: _click.Context, formatter: Any) -> None:
        pieces = command.collect_usage_pieces(ctx)
        formatter.write_usage(ctx.command_path, " ".join(pieces), USAGE_TERMS["prefix"][1])

    return localized


class LocalizedUsageError(_click.exceptions.UsageError):
    """A usage error whose message is in the configured language (typer prints it as any
    other: the usage line, the help suggestion, the message; exit code 2)."""

    def __init__(self, error: _click.exceptions.UsageError, message: str) -> None:
        super().__init__(message, error.ctx)
        self.exit_code = error.exit_code

    def format_message(self) -> str:
        return self.message


class _localized_errors:
    """Usage errors raised inside become :class:`LocalizedUsageError` under ``zh_CN``; an
    abort (Ctrl-C at a prompt) is reported with the Chinese words too."""

    def __init__(self, locale: str) -> None:
        self.locale = locale

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, error: BaseException | None, _tb: Any) -> None:
        if self.locale != "zh_CN" or error is None:
            return
        if isinstance(error, typer.Abort):
            _help_terms(self.locale)
            return
        if not isinstance(error, _click.exceptions.UsageError) or isinstance(
            error, LocalizedUsageError | _click.exceptions.NoArgsIsHelpError
        ):
            return
        _help_terms(self.locale)  # the help suggestion and the panel's title
        raise LocalizedUsageError(error, usage_error_text(error, self.locale)) from error


def usage_error_text(error: _click.exceptions.UsageError, locale: str) -> str:
    """The message of typer's usage error ``error`` in ``locale``: under ``zh_CN`` built
    from what the error names (the parameter, its kind, the options meant) with the texts of
    :mod:`rapport.i18n.help`; otherwise typer's own."""
    if locale != "zh_CN":
        return error.format_message()
    from rapport.i18n.help import PARAMETER_KINDS, USAGE_FRAMES

    exceptions = _click.exceptions
    if isinstance(error, exceptions.MissingParameter):
        kind = error.param_type or getattr(error.param, "param_type_name", None) or "parameter"
        hint = error.param_hint or (error.param.get_error_hint() if error.param else None)
        if isinstance(hint, list | tuple):
            hint = " / ".join(repr(h) for h in hint)
        name = PARAMETER_KINDS.get(kind, kind)
        text = (
            USAGE_FRAMES["missing"].format(kind=name, hint=hint)
            if hint
            else USAGE_FRAMES["missing_unnamed"].format(kind=name)
        )
        extra = error.param.get_missing_message(ctx=error.ctx) if error.param else None
        if extra and extra.startswith("Choose from:"):
            choices = ", ".join(c.strip(" \t\n,") for c in extra.split("\n")[1:])
            text = f"{text}；{USAGE_FRAMES['choices'].format(choices=choices)}"
        return text
    if isinstance(error, exceptions.BadParameter):
        message = _usage_message(error.message)
        hint = error.param_hint or (error.param.get_error_hint() if error.param else None)
        if isinstance(hint, list | tuple):
            hint = " / ".join(repr(h) for h in hint)
        if hint:
            return USAGE_FRAMES["invalid_for"].format(hint=hint, message=message)
        return USAGE_FRAMES["invalid"].format(message=message)
    text = _usage_message(error.message)
    if isinstance(error, exceptions.NoSuchOption) and error.possibilities:
        options = ", ".join(sorted(error.possibilities))
        text = f"{text}{USAGE_FRAMES['possible'].format(options=options)}"
    return text


def _usage_message(text: str) -> str:
    """One message of :data:`rapport.i18n.help.USAGE_MESSAGES` in Chinese (or as it is)."""
    from rapport.i18n.help import USAGE_MESSAGES

    for pattern, zh in USAGE_MESSAGES:
        if m := re.fullmatch(pattern, text, re.DOTALL):
            return zh.format(**m.groupdict())
    return text


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
