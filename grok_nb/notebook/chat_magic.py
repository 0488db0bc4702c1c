"""``%grokvision_chat``: open a chat panel (``grok_nb.Chat``) from a line magic.

A small Magics class of its own, registered by ``magics.load_ipython_extension``, so
the chat needs one line in the shared magics module.
"""

from __future__ import annotations

from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring

from grok_nb.errors import GrokError

__all__ = ["ChatMagics"]


@magics_class
class ChatMagics(Magics):
    @magic_arguments()
    @argument("-m", "--model", help="model to ask")
    @argument("--detail", choices=("auto", "low", "high"))
    @argument("--rule", help="tile rule")
    @argument("--system", help="system prompt")
    @argument("--max-tokens", type=int)
    @argument("--max-cost-usd", type=float, help="refuse a message estimated above this")
    @argument("--name", default="chat", help="the variable to store the panel in")
    @line_magic
    def grokvision_chat(self, line: str = "") -> Any:
        """Open a chat panel; it is stored in the variable ``--name`` (default ``chat``)."""
        # the widget (anywidget, ipywidgets) is slow to import: only this magic needs it
        from grok_nb.notebook.chat import Chat

        args = parse_argstring(self.grokvision_chat, line)
        try:
            chat = Chat(
                args.model,
                name=args.name,
                detail=args.detail,
                tile_rule=args.rule,
                system=args.system,
                max_tokens=args.max_tokens,
                max_cost_usd=args.max_cost_usd,
            )
        except GrokError as exc:
            raise UsageError(str(exc)) from None
        if self.shell is not None:
            self.shell.user_ns[args.name] = chat
        return chat
