"""`--help` as plain text that reads well in 80 columns, the same with every Typer version.

Typer's rich panels cut option names and choices to fit their columns (`--checkpoint-ac…`,
`<auto|cpu|cuda|mp s>`) and show `<bool>` on flags; this writes the classic layout instead:

    Usage: lvsdctl finetune [OPTIONS] DATA

      Description, wrapped. Example commands are never wrapped, so they paste:

        lvsdctl finetune split.h5 --freeze 4 --sequential -o sq-pf4.h5

    Options:
      -o, --output FILE       Output file; ...  [required]
      --device [auto|cpu|cuda|mps]
                              Where to compute ...  [default: auto]

An option name never is cut: a long one puts its help on the next line. Help texts are plain (no rich
markup). In a description, an indented paragraph is kept as written, and "Example: lvsdctl ..." becomes
"Example:" and the command on its own line. Only stable parameter attributes are read (names, help,
default, required, flags, choices).
"""

from __future__ import annotations

import textwrap
from enum import Enum
from types import MethodType

#: Width of the option-name column; a longer name puts its help on the next line.
NAME_COLUMN = 30


def _choices(param) -> list[str] | None:
    for holder in (getattr(param, "type", None), getattr(param, "type_descriptor", None)):
        choices = getattr(holder, "choices", None)
        if choices:
            return [str(getattr(c, "value", c)) for c in choices]
    return None


def _kind(param) -> str:
    """'int', 'float' or 'str' from the parameter's type (click's ParamType, or Typer's annotation)."""
    name = str(getattr(getattr(param, "type", None), "name", "") or "")
    annotation = getattr(getattr(param, "type_descriptor", None), "annotation", None)
    text = f"{name} {getattr(annotation, '__name__', annotation)}".lower()
    if "int" in text:
        return "int"
    if "float" in text:
        return "float"
    return "str"


def metavar(param) -> str:
    """What an option's value looks like: its declared metavar, its choices, or N / X / TEXT."""
    if getattr(param, "metavar", None):
        return str(param.metavar)
    choices = _choices(param)
    if choices:
        return "[" + "|".join(choices) + "]"
    return {"int": "N", "float": "X"}.get(_kind(param), "TEXT")


def _is_flag(param) -> bool:
    return bool(getattr(param, "is_flag", False) or getattr(param, "count", False))


def _range(param) -> str:
    lo = getattr(param, "min", None)
    hi = getattr(param, "max", None)
    if lo is None and hi is None:
        t = getattr(param, "type", None)
        lo, hi = getattr(t, "min", None), getattr(t, "max", None)
    if lo is not None and hi is not None:
        return f"{lo:g} to {hi:g}" if isinstance(lo, float) or isinstance(hi, float) else f"{lo} to {hi}"
    if lo is not None:
        return f"at least {lo}"
    if hi is not None:
        return f"at most {hi}"
    return ""


def _default(param) -> str:
    if getattr(param, "show_default", True) is False or getattr(param, "required", False):
        return ""
    value = getattr(param, "default", None)
    if callable(value) or value is None or value == () or value == [] or value == "":
        return ""
    if _is_flag(param):
        if getattr(param, "secondary_opts", None):  # --zscore/--no-zscore: the one in effect
            return (param.opts if value else param.secondary_opts)[-1]
        return ""
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, (list, tuple)):
        value = ", ".join(str(getattr(v, "value", v)) for v in value)
    return str(value)


def _option_names(param) -> str:
    opts = sorted(param.opts, key=lambda o: (not o.startswith("-") or o.startswith("--"), o))
    text = ", ".join(opts)
    if getattr(param, "secondary_opts", None):
        text += " / " + ", ".join(param.secondary_opts)
    if not _is_flag(param):
        text += " " + metavar(param)
    return text


def _argument_name(param) -> str:
    return str(getattr(param, "metavar", None) or param.name.upper())


def _extra(param) -> str:
    bits = []
    default = _default(param)
    if default:
        bits.append(f"default: {default}")
    rng = _range(param) if not _is_flag(param) else ""
    if rng:
        bits.append(rng)
    if getattr(param, "multiple", False):
        bits.append("repeatable")
    if getattr(param, "required", False):
        bits.append("required")
    return f"[{'; '.join(bits)}]" if bits else ""


def _rows(rows: list[tuple[str, str]], width: int, indent: int = 2) -> list[str]:
    """Two columns: names (never cut) and help wrapped beside them, or below a name that is too long."""
    col = min(max((len(n) for n, _ in rows), default=0), NAME_COLUMN) + 2
    text_width = max(width - indent - col, 20)
    out = []
    for name, help_text in rows:
        lines = textwrap.wrap(help_text, text_width, break_on_hyphens=False) or [""]
        if len(name) + 2 > col:
            out.append(" " * indent + name)
            out += [" " * (indent + col) + line for line in lines if line]
        else:
            out.append(" " * indent + name.ljust(col) + lines[0])
            out += [" " * (indent + col) + line for line in lines[1:]]
    return out


def command_lines(command: str, width: int, indent: int) -> list[str]:
    """A shell command on lines of at most `width` characters, continued with ` \\` between words (it
    pastes as one command); a single word longer than the line is never cut."""
    words, lines, current = command.split(), [], ""
    for word in words:
        room = width - indent - (4 if lines else 0) - 2  # the continuation's indent and " \\"
        if current and len(current) + 1 + len(word) > room:
            lines.append(current)
            current = word
        else:
            current = f"{current} {word}" if current else word
    lines.append(current)
    return [" " * (indent + (4 if i else 0)) + text + (" \\" if i < len(lines) - 1 else "")
            for i, text in enumerate(lines)]


def description(text: str, width: int, indent: int = 2) -> list[str]:
    """Paragraphs wrapped; indented paragraphs kept as written; "Example: lvsdctl ..." (any words before
    the colon) as the words, then the command on its own lines (commands are never wrapped mid-word, and
    continue with a backslash, so they paste)."""
    out: list[str] = []
    for para in textwrap.dedent(text or "").strip("\n").split("\n\n"):
        para = para.replace("\b\n", "").rstrip()
        if not para.strip():
            continue
        lines = para.splitlines()
        if para.startswith((" ", "\t")) or all(x.lstrip().startswith(("lvsdctl ", "bash ", "#")) for x in lines):
            if not para.startswith((" ", "\t")):  # a block of commands whose indent a docstring lost
                para = "\n".join("  " + x for x in lines)
            for line in para.splitlines():
                body = line.lstrip()
                lead = indent + len(line) - len(body)
                out += command_lines(body, width, lead) if body.startswith("lvsdctl ") else [" " * lead + body]
        else:
            head, sep, rest = para.partition(": ")
            if sep and rest.startswith("lvsdctl ") and "\n" not in head:
                out += [" " * indent + head + ":", ""] + command_lines(" ".join(rest.split()), width, indent + 2)
            else:
                out += textwrap.wrap(" ".join(para.split()), width - indent, initial_indent=" " * indent,
                                     subsequent_indent=" " * indent, break_on_hyphens=False)
        out.append("")
    return out


def _params(cmd, ctx):
    params = [p for p in cmd.get_params(ctx) if not getattr(p, "hidden", False)]
    arguments = [p for p in params if getattr(p, "param_type_name", "") == "argument"]
    return arguments, [p for p in params if getattr(p, "param_type_name", "") != "argument"]


def usage(cmd, ctx) -> str:
    """`lvsdctl predict [OPTIONS] MODEL DATA...`: the same in help pages and in usage errors."""
    arguments, options = _params(cmd, ctx)
    pieces = [ctx.command_path] + (["[OPTIONS]"] if options else [])
    for a in arguments:
        name = _argument_name(a) + ("..." if getattr(a, "nargs", 1) != 1 else "")
        pieces.append(name if a.required else f"[{name}]")
    if getattr(cmd, "commands", None):
        pieces.append("COMMAND [ARGS]...")
    return "Usage: " + " ".join(pieces)


def render(cmd, ctx, width: int) -> str:
    """The whole help page of a command or a group."""
    arguments, options = _params(cmd, ctx)
    commands = getattr(cmd, "commands", None)
    lines = [usage(cmd, ctx), ""]
    lines += description(cmd.help or "", width)
    if arguments:
        lines += ["Arguments:"] + _rows([(_argument_name(a), " ".join(x for x in ((a.help or ""), _extra(a)) if x))
                                         for a in arguments], width) + [""]
    if options:
        lines += ["Options:"] + _rows([(_option_names(p), " ".join(x for x in ((p.help or ""), _extra(p)) if x))
                                       for p in options], width) + [""]
    if commands:
        listed = [(name, c.short_help or (c.help or "").strip().split("\n")[0]) for name, c in commands.items()
                  if not getattr(c, "hidden", False)]
        lines += ["Commands:"] + _rows(listed, width) + [""]
    return "\n".join(lines).rstrip() + "\n"


def _format_help(self, ctx, formatter) -> None:
    formatter.write(render(self, ctx, formatter.width or 80))


def _format_usage(self, ctx, formatter) -> None:
    formatter.write(usage(self, ctx) + "\n")


def install(command) -> None:
    """Give `command` and every command below it the plain help page (and its usage line in errors)."""
    command.format_help = MethodType(_format_help, command)
    command.format_usage = MethodType(_format_usage, command)
    for sub in (getattr(command, "commands", None) or {}).values():
        install(sub)
