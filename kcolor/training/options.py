"""Dataclass fields that are command-line options: one table for a config, its ``argparse``
arguments and the command that repeats it.

A field made with :func:`option` carries an :class:`Option` (flags, help, type, group...) in
its metadata. :func:`add_arguments` adds every field of a dataclass to a parser,
:func:`values_from_args` reads them back and :func:`command_args` writes the arguments
that give a field's value. :class:`kcolor.training.TrainConfig` is the one user.

Light (no numpy, no Keras): the CLI builds its parser from it.

Example:
    >>> import argparse, dataclasses
    >>> @dataclasses.dataclass
    ... class Job:
    ...     name: str = option(flags=("-n", "--name"), required=True, help="its name", group="job")
    ...     tries: int = option(3, type=int, metavar="N", help="default 3", group="job")
    ...     tags: dict = option(factory=dict, flags=("--tag",), action="key_values",
    ...                         metavar="KEY=JSON", help="repeatable", group="job")
    >>> parser = argparse.ArgumentParser()
    >>> add_arguments(parser, Job, groups=("job",))
    >>> job = Job(**values_from_args(Job, parser.parse_args(["-n", "x", "--tag", "a=1"])))
    >>> job
    Job(name='x', tries=3, tags={'a': 1})
    >>> [command_args(opt, getattr(job, f.name)) for f, opt in options(Job)]
    [['-n', 'x'], ['--tries', '3'], ['--tag', 'a=1']]
"""

from __future__ import annotations

import argparse
import dataclasses
import json


@dataclasses.dataclass(frozen=True)
class Option:
    """How one dataclass field is given on the command line.

    Args:
        flags: the option strings, e.g. ``("-o", "--output")``; the first one is the one
            :func:`command_args` writes (default: ``--`` and the field's name with dashes).
        help: the ``--help`` text.
        group: the argument group's title.
        metavar, type, choices, nargs, required: as in ``argparse.add_argument``.
        action: ``None`` (a value), ``"store_true"``/``"store_false"`` (a flag that sets
            the field to ``True``/``False``) or ``"key_values"`` (a repeatable
            ``KEY=JSON`` option that fills a dict field).

    Example:
        >>> Option(flags=("--epochs",), help="default 10", group="training", type=int).type
        <class 'int'>
    """

    flags: tuple
    help: str
    group: str
    metavar: str | None = None
    type: object = None
    choices: tuple | None = None
    nargs: str | None = None
    required: bool = False
    action: str | None = None


def option(default=dataclasses.MISSING, *, factory=dataclasses.MISSING, flags=None, **kwargs):
    """A dataclass field with its command-line :class:`Option`.

    Args:
        default: the field's default (``factory`` instead for a list or a dict; neither
            for a field without a default).
        flags: the option strings (default: ``--`` and the field's name with dashes).
        **kwargs: the other :class:`Option` arguments.

    Returns:
        A ``dataclasses.field``.

    Example:
        >>> field = option(3, flags=("--epochs",), help="default 3", group="training")
        >>> field.default, field.metadata["option"].flags
        (3, ('--epochs',))
    """
    meta = {"option": Option(flags=tuple(flags or ()), **kwargs)}
    return dataclasses.field(default=default, default_factory=factory, metadata=meta)


def options(cls) -> list:
    """``[(dataclasses.Field, Option)]`` of every field of dataclass ``cls``, in field order,
    each ``flags`` filled in.

    Raises:
        TypeError: a field has no :class:`Option` (every field must be an option).

    Example:
        >>> from kcolor.training.config import TrainConfig
        >>> [opt.flags for f, opt in options(TrainConfig)][:2]
        [('-o', '--output'), ('--data',)]
    """
    out = []
    for field in dataclasses.fields(cls):
        opt = field.metadata.get("option")
        if opt is None:
            raise TypeError(
                f"{cls.__name__}.{field.name} has no command-line option: make it with option()"
            )
        if not opt.flags:
            opt = dataclasses.replace(opt, flags=("--" + field.name.replace("_", "-"),))
        out.append((field, opt))
    return out


def default(field: dataclasses.Field):
    """The default value of ``field`` (a fresh one from its factory; ``None`` without one)."""
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    return None if field.default is dataclasses.MISSING else field.default


def add_arguments(parser: argparse.ArgumentParser, cls, groups) -> None:
    """Add every field of dataclass ``cls`` to ``parser``: one argument group per title in
    ``groups`` (in that order), each field's help text and default, ``dest`` its name.

    Args:
        parser: an ``argparse.ArgumentParser``.
        cls: a dataclass whose fields are made with :func:`option`.
        groups: the group titles, in the order ``--help`` shows them.
    """
    for title in groups:
        group = parser.add_argument_group(title)
        for field, opt in options(cls):
            if opt.group != title:
                continue
            kwargs = {"dest": field.name, "help": opt.help}
            if opt.action in ("store_true", "store_false"):
                kwargs["action"] = opt.action
            elif opt.action == "key_values":
                kwargs.update(action="append", default=[], metavar=opt.metavar)
            else:
                kwargs["default"] = default(field)
                for key in ("metavar", "type", "choices", "nargs"):
                    if getattr(opt, key) is not None:
                        kwargs[key] = getattr(opt, key)
            if opt.required:
                kwargs.pop("default", None)
                kwargs["required"] = True
            group.add_argument(*opt.flags, **kwargs)
    unknown = {opt.group for _, opt in options(cls)} - set(groups)
    if unknown:
        raise TypeError(f"{cls.__name__}: option groups {sorted(unknown)} are not in {groups}")


def values_from_args(cls, args) -> dict:
    """``{field name: value}`` of ``args``, parsed by a parser :func:`add_arguments` filled."""
    values = {}
    for field, opt in options(cls):
        value = getattr(args, field.name)
        if opt.action == "key_values":
            value = key_values(value, opt.flags[0])
        values[field.name] = value
    return values


def command_args(opt: Option, value) -> list:
    """The command-line arguments that give ``value`` (``[]`` for an unset flag).

    Example:
        >>> command_args(Option(flags=("--lr",), help="", group="", type=float), 3e-4)
        ['--lr', '0.0003']
        >>> command_args(Option(flags=("--sizes",), help="", group="", nargs="+"), [64, 96])
        ['--sizes', '64', '96']
    """
    flag = opt.flags[0]
    if opt.action == "key_values":
        return [a for k, v in value.items() for a in (flag, f"{k}={json.dumps(v)}")]
    if opt.action in ("store_true", "store_false"):
        return [flag] if bool(value) == (opt.action == "store_true") else []
    if opt.nargs:
        return [flag, *(_fmt(v) for v in value)]
    return [flag, _fmt(value)]


def key_values(items, flag: str) -> dict:
    """``{key: value}`` of ``KEY=JSON`` strings (a bare word is a string).

    Raises:
        ValueError: an item without ``=`` or without a key, naming ``flag``.

    Example:
        >>> key_values(["head=classes", "width=32", 'names=["a"]'], "--model-arg")
        {'head': 'classes', 'width': 32, 'names': ['a']}
    """
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"{flag} takes KEY=VALUE, got {item!r}")
        try:
            out[key] = json.loads(value)
        except ValueError:
            out[key] = value  # a bare word is a string
    return out


def _fmt(value) -> str:
    """A value as a command writes it: a float short (``0.0003``) when that is exact."""
    if isinstance(value, float):
        short = f"{value:g}"
        return short if float(short) == value else repr(value)
    return str(value)
