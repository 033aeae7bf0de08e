"""What every script's command line shares: `HfArgumentParser` over a dataclass plus positional arguments, the
package's messages on standard error, and a refusal as one `error: ...` line (exit status 1), never a traceback."""

import importlib.util
import logging
from contextlib import contextmanager

from transformers import HfArgumentParser


def parse_command_line(arguments_class, positionals=(), argv=None, remaining=False):
    """(options, positionals): `arguments_class` parsed from `argv` beside `positionals` ((name, help) or
    (name, help, nargs)), and with `remaining` the words left over; also shows the package's log messages on standard
    error."""
    logging.basicConfig(format="%(message)s", level=logging.WARNING)
    logging.getLogger("hf_lstm").setLevel(logging.INFO)
    parser = HfArgumentParser(arguments_class)
    for name, help_text, *nargs in positionals:
        parser.add_argument(name, help=help_text, **({"nargs": nargs[0]} if nargs else {}))
    return parser.parse_args_into_dataclasses(args=argv, return_remaining_strings=remaining)


class MissingExtra(ImportError):
    """An optional dependency of an install extra (onnx, demo) is not installed; the message names the `pip install`."""


@contextmanager
def one_error_line(*errors):
    """Turn `errors` (default: ValueError, OSError, `MissingExtra`) raised in the block into one `error: ...` line and
    exit status 1."""
    try:
        yield
    except errors or (ValueError, OSError, MissingExtra) as error:
        raise SystemExit(f"error: {error}") from None


def require_extra(extra, *modules):
    """Raise `MissingExtra`, naming the `pip install` to run, when an optional dependency of the `extra` install extra
    is missing: library callers get an exception, the scripts one `error:` line (`one_error_line`)."""
    missing = [module for module in modules if not installed(module)]
    if missing:
        raise MissingExtra(f"{missing[0]} is not installed; this command needs the [{extra}] extra: "
                           f"pip install -e '.[{extra}]'")


def installed(module):
    """Whether `module` can be imported (found on the path, not refused by an import hook)."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False
