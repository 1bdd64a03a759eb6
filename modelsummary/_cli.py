"""The command line: ``modelsummary [TARGET] [options]``.

Without a target it prints the summary of the built-in demo model. With one, it
builds the model the target names (see `modelsummary._targets`) and summarises it:
``PACKAGE.MODULE:FACTORY`` or ``path/to/file.py:FACTORY`` (imported, which runs
the module's top-level code, as any import does; ``FACTORY`` is an ``nn.Module``
subclass, a function returning a module, or a module instance, called with the
``--kwarg`` values), a ``model.pt2`` saved by ``torch.export.save()``,
``hf:MODEL_TYPE`` (``--set`` overrides config fields), ``torchvision:NAME`` or
``timm:NAME``. The current directory is searched first, as ``python -m`` does.

A bad spec or argument prints one line on stderr and exits with status 2; a
forward pass that fails exits with status 1.

Examples:
    >>> main(["--depth", "1", "--ascii"])  # doctest: +ELLIPSIS
    Demo: DemoNet on input_size=(1, 8), dtypes=[torch.long]: ...
    ===...
    DemoNet ...
    |-embed (Embedding) ...
    ...
    0
"""

from __future__ import annotations

import argparse
import ast
import os
import sys
from collections.abc import Sequence
from dataclasses import replace
from typing import Any, NoReturn

import torch
from tabulate import tabulate_formats
from torch import nn
from torch.export import ExportedProgram

from ._demo import DEMO_INPUT, DEMO_INPUT_TEXT, DemoNet
from ._errors import ModelSummaryError
from ._pass import DTYPE_HINT
from ._present.export import FORMATS
from ._present.render import PIPE_FORMATS
from ._result import ModelSummary
from ._summary import summary
from ._targets import TargetError, load_target
from ._tree.weights_as import WEIGHT_FORMATS

CLI_DTYPE_HINT = (
    ". The inputs made from --input-size have the model's floating dtype unless --dtype"
    " says otherwise: token ids and other indices need e.g. --dtype long"
)
"""The command line's form of `modelsummary._pass.DTYPE_HINT`: its own flag."""


class CommandLineError(Exception):
    """A bad spec or argument: reported as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise CommandLineError(f"{message} (see --help)")


def _parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = _Parser(
        prog="modelsummary",
        description="Print the summary of a PyTorch model: one built by FACTORY in"
        " PACKAGE.MODULE or in a Python file (imported, so its top-level code runs), an"
        " exported program saved as .pt2, or a Hugging Face, torchvision or timm model by"
        " name, built on the meta device (no weights, no download). Without a target, print the"
        " summary of the built-in demo model: a block called twice, a head tied to the"
        " embedding, and a module the forward never calls.",
    )
    parser.add_argument("--version", action="version", version=f"modelsummary {__version__}")
    parser.add_argument(
        "spec",
        nargs="?",
        metavar="TARGET",
        help="PACKAGE.MODULE:FACTORY (torchvision.models:resnet18), path/to/file.py:FACTORY,"
        " model.pt2, hf:MODEL_TYPE (hf:gpt2), torchvision:NAME or timm:NAME; FACTORY is a"
        " module class, a function returning a module, or a module instance",
    )
    parser.add_argument(
        "--input-size",
        action="append",
        default=[],
        metavar="N,N,...",
        help="shape of one input, e.g. 1,3,224,224; repeat for several inputs; without it"
        " nothing runs and the model is listed as registered",
    )
    parser.add_argument(
        "--dtype",
        action="append",
        default=[],
        metavar="DTYPE",
        help="dtype of the inputs (float32, long, ...): once for all, or once per --input-size",
    )
    parser.add_argument("--device", help="where to run the pass, e.g. cpu or cuda:0")
    parser.add_argument("--depth", default="3", help="deepest row to show (default 3)")
    parser.add_argument(
        "--format", default="table", choices=tuple(FORMATS), help="output format (default table)"
    )
    parser.add_argument(
        "--tablefmt",
        default="simple",
        help="tabulate format of the table; github or pipe give Markdown, without rules",
    )
    parser.add_argument(
        "--width",
        metavar="N",
        help="fit the table in N characters, 0 for no limit (default: the terminal's width"
        " when printing to a terminal or COLUMNS is set, else no limit)",
    )
    parser.add_argument(
        "--columns", help="comma-separated col_names, e.g. output_size,num_params,calls"
    )
    parser.add_argument(
        "--kwarg",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="keyword argument for FACTORY; VALUE is a Python literal or else a string;"
        " repeat for several",
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="config field of an hf: target, e.g. n_layer=2; VALUE is a Python literal or"
        " else a string; repeat for several",
    )
    parser.add_argument(
        "--mode",
        choices=("eval", "train", "same"),
        help="mode of the pass: eval (default), train, or same (each module's own)",
    )
    parser.add_argument(
        "--weights-as",
        choices=sorted(WEIGHT_FORMATS),
        help="size the weights as if stored in this format, e.g. nf4 (see docs/quantization.md)",
    )
    parser.add_argument("--ascii", action="store_true", help="draw the tree with ASCII only")
    parser.add_argument(
        "--list-unused",
        action="store_true",
        help="list each parameter-free module that never ran (default: one line counts them)",
    )
    parser.add_argument(
        "--fold",
        action="store_true",
        help="draw each run of identical consecutive blocks as one row (0-11 (GPT2Block) x12)",
    )
    return parser


def _shape(text: str) -> tuple[int, ...]:
    try:
        shape = tuple(int(part) for part in text.replace("x", ",").split(","))
    except ValueError:
        raise CommandLineError(
            f"bad --input-size {text!r}: expected comma-separated integers such as 1,3,224,224"
        ) from None
    if not shape or any(n <= 0 for n in shape):
        raise CommandLineError(f"bad --input-size {text!r}: sizes must be positive")
    return shape


def _dtype(text: str) -> torch.dtype:
    value = getattr(torch, text.removeprefix("torch."), None)
    if not isinstance(value, torch.dtype):
        raise CommandLineError(f"bad --dtype {text!r}: expected a torch dtype such as float32")
    return value


def _kwarg(text: str, flag: str = "--kwarg", example: str = "num_classes=10") -> tuple[str, Any]:
    key, sep, raw = text.partition("=")
    if not sep or not key.isidentifier():
        raise CommandLineError(f"bad {flag} {text!r}: expected KEY=VALUE, e.g. {example}")
    try:
        value: Any = ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        value = raw
    return key, value


def _run(argv: Sequence[str] | None) -> str:
    args = _parser().parse_args(argv)
    if args.tablefmt not in tabulate_formats:  # checked before the model is even built
        raise CommandLineError(
            f"bad --tablefmt {args.tablefmt!r}: choose from {', '.join(sorted(tabulate_formats))}"
        )
    if not args.depth.isdigit():
        raise CommandLineError(f"bad --depth {args.depth!r}: expected a non-negative integer")
    if args.width is not None and not args.width.isdigit():
        raise CommandLineError(f"bad --width {args.width!r}: expected a non-negative integer")
    kwargs = dict(_kwarg(k) for k in args.kwarg)
    settings = dict(_kwarg(k, "--set", "n_layer=2") for k in args.set)
    rows = [
        name
        for name, on in (
            ("ascii_only", args.ascii),
            ("list_unused", args.list_unused),
            ("fold_repeats", args.fold),
        )
        if on
    ]
    options: dict[str, Any] = {
        "depth": int(args.depth),
        "device": args.device,
        "row_settings": rows,
        "verbose": 0,
        "mode": args.mode,
    }
    if args.weights_as:
        options["weights_as"] = args.weights_as
    if args.columns:
        options["col_names"] = [c.strip() for c in args.columns.split(",") if c.strip()]
    if args.input_size:
        options["input_size"] = [_shape(s) for s in args.input_size]
    if args.dtype:
        dtypes = [_dtype(d) for d in args.dtype]
        count = len(args.input_size)
        if len(dtypes) == 1 and count > 1:
            dtypes *= count
        if not count:
            raise CommandLineError("--dtype applies to --input-size; give --input-size too")
        if len(dtypes) != count:
            raise CommandLineError(f"got {len(dtypes)} --dtype for {count} --input-size")
        options["dtypes"] = dtypes
    heading = ""
    blank = "\n" if args.tablefmt in PIPE_FORMATS else ""  # a blank line before Markdown
    if args.spec is None:
        if kwargs or settings:
            raise CommandLineError(f"{'--kwarg' if kwargs else '--set'} needs a model spec")
        model: nn.Module | ExportedProgram = DemoNet()
        options.setdefault("col_names", ("output_size", "num_params", "calls"))
        if not args.input_size:
            options.update(DEMO_INPUT)
            if args.format == "table":
                heading = f"Demo: DemoNet on {DEMO_INPUT_TEXT}\n{blank}"
    else:
        try:
            target = load_target(args.spec, kwargs, settings)
        except TargetError as err:
            raise CommandLineError(str(err)) from None
        model = target.model
        if not args.input_size:  # the target's own input, unless the user gives one
            options.update(target.options)
        elif "dtypes" not in options and "dtypes" in target.options:
            options["dtypes"] = target.options["dtypes"][:1] * len(args.input_size)
        if target.note and args.format == "table":
            heading = f"{target.note}\n{blank}"
        if isinstance(model, ExportedProgram):  # read, not run: no pass to set up
            for name in ("device", "mode"):
                if options[name] is not None:
                    raise CommandLineError(f"--{name} needs a pass: a .pt2 program is only read")
                del options[name]

    def drawn(result: ModelSummary) -> str:
        result = result.with_options(width=None if args.width is None else int(args.width))
        result = replace(result, options=replace(result.options, tablefmt=args.tablefmt))
        return heading + result.render(args.format).rstrip("\n")

    try:
        try:
            return drawn(summary(model, **options))
        except ModelSummaryError as err:  # the table up to the failure, then the error
            if err.summary is not None and args.format == "table":
                print(drawn(err.summary))
            raise
    except (TypeError, ValueError) as err:
        raise CommandLineError(str(err)) from None


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); return the exit status.

    Examples:
        >>> main(["torch.nn:Nope"])  # prints the error on stderr
        2
    """
    try:
        print(_run(argv))
    except BrokenPipeError:  # e.g. piped into head: not an error of ours
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except CommandLineError as err:
        print(f"modelsummary: error: {err}", file=sys.stderr)
        return 2
    except ModelSummaryError as err:  # the advice names this interface's flag
        print(f"modelsummary: {str(err).replace(DTYPE_HINT, CLI_DTYPE_HINT)}", file=sys.stderr)
        return 1
    return 0
