"""``%%grokvision`` and the line magics; ``%load_ext grok_nb`` lands here.

User mistakes become ``UsageError`` (one line, no traceback). Results are display
data that reads well live, in a terminal, and in a saved notebook with no kernel.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments
from IPython.display import display

from grok_nb.api.catalogue import language_models
from grok_nb.api.client import Client
from grok_nb.api.credentials import resolve_base_url
from grok_nb.api.request import redact_request
from grok_nb.cache.keys import normalise_base_url
from grok_nb.calls import response_cache, send
from grok_nb.conversation import Conversation
from grok_nb.errors import APIConnectionError, GrokError, ImageError, MissingKeyError
from grok_nb.grounding import attach_boxes, plan_boxes
from grok_nb.images.expand import TooManyImagesError, expand_path_source
from grok_nb.ledger import LEDGER
from grok_nb.notebook.batch_magic import register as register_batch_magic
from grok_nb.notebook.capture import ImageCapture
from grok_nb.notebook.chat_magic import ChatMagics
from grok_nb.notebook.live import LiveMarkdown
from grok_nb.notebook.prompt import prompt_parts_from_cell, split_line
from grok_nb.notebook.simulate_magic import register as register_simulate_magic
from grok_nb.preparing import Labelled, prepared_store
from grok_nb.pricing import format_usd
from grok_nb.render import (
    OVERLAY_METADATA,
    answer_mimebundle,
    estimate_mimebundle,
    models_mimebundle,
    thumbnails_mimebundle,
    usage_mimebundle,
)
from grok_nb.rules import calibrations, forget_calibration, rule_in_force
from grok_nb.settings import current, resolve_options

__all__ = ["GrokVisionMagics", "load_ipython_extension", "unload_ipython_extension"]

URL_PREFIXES = ("http://", "https://", "data:")
STRIP_MEMO = 32  # thumbnail strips remembered for re-run cells


def _offline_note() -> str | None:
    try:  # the simulator's one identity, on any port (%grokvision_simulate's too)
        endpoint = normalise_base_url(resolve_base_url(current().base_url))
    except GrokError:
        endpoint = ""
    if os.environ.get("GROK_NB_OFFLINE") or endpoint.startswith("grok_nb-simulator"):
        return "answered by grok_nb's offline simulator, not a model"
    return None


@magics_class
class GrokVisionMagics(Magics):
    def __init__(self, shell: Any) -> None:
        super().__init__(shell)
        self.ip: Any = shell  # typed loosely: Magics.shell is Optional
        self.settings = current(shell)
        self.capture = ImageCapture(shell)
        self.conversation = Conversation()
        self._strips: dict[tuple[Any, ...], dict[str, Any]] = {}

    # --- resolving the line -------------------------------------------------

    def _resolve_token(self, token: str) -> list[Any]:
        if token.startswith(URL_PREFIXES):
            return [token]
        try:
            value = self.ip.ev(token)
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
        else:
            if isinstance(value, (str, bytes, os.PathLike, list, tuple)):
                return [value]  # paths, globs and lists name themselves
            return [Labelled(value, token)]
        try:  # the one expansion ask() and grok-nb use: ~, recursive **, sorted
            return list(expand_path_source(token))
        except TooManyImagesError as exc:
            raise UsageError(f"image {token!r}: {exc.reason}") from None
        except ImageError:
            raise UsageError(
                f"image {token!r}: not a variable or expression in this notebook ({error}), "
                "not an existing file and no file matches it as a glob"
            ) from None

    def _images(self, args: Any, in_prompt: bool = False) -> tuple[list[Any], str | None]:
        images: list[Any] = []
        for token in args.images:
            images += self._resolve_token(token)
        for path in args.file or []:
            try:
                images += expand_path_source(path)
            except TooManyImagesError as exc:
                raise UsageError(f"--file {path!r}: {exc.reason}") from None
            except ImageError:
                raise UsageError(f"--file {path!r}: no such file") from None
        images += list(args.url or [])
        if images or in_prompt or (args.cont and self.conversation.messages):
            return images, None  # a follow-up may ask about the images already sent
        last = self.capture.last
        if last is None:
            raise UsageError(
                "no image given, and no image has been displayed in this kernel yet: "
                "name one (a variable, file, URL or figure) after %%grokvision"
            )
        if not last.sendable:
            raise UsageError(f"no image given, and {last.why_not()}")
        # a figure is sent as `%%grokvision fig` sends it: rendered for its tile plan
        note = f"No image given: using {last.description}."
        return [Labelled(last.source, last.description)], note

    def _schema(self, name: str | None) -> Any:
        if not name:
            return None
        try:
            schema = self.ip.ev(name)
        except Exception as exc:
            raise UsageError(f"--schema {name}: {type(exc).__name__}: {exc}") from None
        if isinstance(schema, dict) or hasattr(schema, "model_json_schema"):
            return schema
        raise UsageError(
            f"--schema {name}: expected a pydantic model class or a JSON-schema dict, "
            f"got {type(schema).__name__}"
        )

    # --- %%grokvision -------------------------------------------------------

    @magic_arguments()
    @argument("images", nargs="*", help="variables, expressions, files, globs or URLs")
    @argument("-f", "--file", action="append", help="an image file (repeatable)")
    @argument("--url", action="append", help="an image URL (repeatable)")
    @argument("-m", "--model", help="model to ask")
    @argument("--detail", choices=("auto", "low", "high"))
    @argument("--system", help="system prompt")
    @argument("-t", "--temperature", type=float)
    @argument("--max-tokens", type=int)
    @argument("--schema", help="variable holding a pydantic model class or JSON-schema dict")
    @argument("-o", "--out", help="store the Answer in this variable")
    @argument("--continue", dest="cont", action="store_true", help="follow up on the last answer")
    @argument("--new", action="store_true", help="start a new conversation")
    @argument("--no-stream", action="store_true")
    @argument("--refresh", action="store_true", help="ask again even if cached")
    @argument("--no-cache", action="store_true")
    @argument("--dry-run", action="store_true", help="show what would be sent; send nothing")
    @argument("--rule", help="tile rule for estimates")
    @argument("--no-tiles", action="store_true", help="do not show the tile thumbnails")
    @argument("--resize", choices=("model", "none"))
    @argument(
        "--boxes", action="store_true", help="find what the prompt names: boxes over the image"
    )
    @argument("--api", choices=("chat", "responses"), help="POST /chat/completions or /responses")
    @cell_magic
    def grokvision(self, line: str, cell: str) -> None:
        """Ask a Grok vision model about images; the cell body is the prompt."""
        args = self._parse(line)
        prompt = prompt_parts_from_cell(cell.strip(), self.ip.user_ns)
        if not any(isinstance(p, Labelled) or p.strip() for p in prompt):
            raise UsageError("the cell is empty: write the question below %%grokvision")
        images, note = self._images(args, any(isinstance(p, Labelled) for p in prompt))
        if note:
            display({"text/markdown": f"*{note}*", "text/plain": note}, raw=True)
        if args.cont and args.new:
            raise UsageError("--continue and --new contradict each other: pick one")
        cache = "off" if args.no_cache else ("refresh" if args.refresh else None)
        overrides = {
            "model": args.model,
            "detail": args.detail,
            "system": args.system,
            "temperature": args.temperature,
            "max_tokens": args.max_tokens,
            "tile_rule": args.rule,
            "resize": args.resize,
            "cache": cache,
            "stream": False if args.no_stream else None,
            "api": args.api,
        }
        conversation = self.conversation if args.cont else Conversation()
        try:
            if args.boxes:  # the prompt says what to find; the boxes bring their schema
                if args.schema:
                    raise UsageError("--boxes asks for its own schema: drop --schema")
                what = "".join(p for p in prompt if isinstance(p, str))  # one phrase
                shown = [*images, *(p for p in prompt if not isinstance(p, str))]
                call, refs = plan_boxes(
                    what, shown, history=conversation.messages,
                    history_plans=conversation.plans, **overrides,
                )  # fmt: skip
            else:
                schema = self._schema(args.schema)
                call = conversation.plan(prompt, images, schema=schema, **overrides)
        except GrokError as exc:
            raise UsageError(str(exc)) from None
        self._show_preview(call, show=self.settings.show_tiles and not args.no_tiles)
        if args.dry_run:
            self._show_request(call)
            return
        answer = conversation.record(call, self._send(call))
        if args.boxes:
            bundle = attach_boxes(answer, refs)._repr_mimebundle_()
            display(bundle, raw=True, metadata=OVERLAY_METADATA)
        self.conversation = conversation
        if args.out:
            self.ip.user_ns[args.out] = answer
        self.ip.displayhook.update_user_ns(answer)

    def _parse(self, line: str) -> Any:
        parser = self.grokvision.parser
        return parser.parse_intermixed_args(split_line(line, "%%grokvision"))

    def _show_preview(self, call: Any, *, show: bool) -> None:

        if show and call.plans:
            # the same images re-run: reuse the drawn strip (PNG encoding is most of a
            # cached cell's time)
            shapes = tuple((p.width, p.height, p.rule, p.detail, p.label) for p in call.plans)
            key = (call.model, shapes, tuple(img.sha256 for img in call.images))
            bundle = self._strips.get(key)
            if bundle is None:
                notes = [(img.label, img.notes) for img in call.images]
                bundle = thumbnails_mimebundle(call.plans, call.model, notes)
                self._strips[key] = bundle
                while len(self._strips) > STRIP_MEMO:
                    self._strips.pop(next(iter(self._strips)))
            display(bundle, raw=True, metadata=OVERLAY_METADATA)
        display(estimate_mimebundle(call), raw=True)

    def _show_request(self, call: Any) -> None:

        dump = json.dumps(redact_request(call.body), indent=2, ensure_ascii=False)
        url = f"{call.base_url}{call.path}"
        text = f"Dry run: nothing was sent. Request to {url}:"
        heading = f"**Dry run: nothing was sent.** Request to `{url}`:"
        display(
            {
                "text/markdown": f"{heading}\n\n```json\n{dump}\n```",
                "text/plain": f"{text}\n{dump}",
            },
            raw=True,
        )

    def _send(self, call: Any) -> Any:

        live = LiveMarkdown() if call.options["stream"] else None
        try:
            answer = send(call, on_delta=live)
        except KeyboardInterrupt as exc:
            partial = getattr(exc, "partial_answer", None)
            if partial is not None and live is not None:
                live.finish(answer_mimebundle(partial))
                self.ip.displayhook.update_user_ns(partial)
            raise UsageError(
                "interrupted: the request was stopped"
                + (
                    f"; the partial answer ({len(partial.text)} characters) is in `_`"
                    if partial
                    else ""
                )
            ) from None
        except APIConnectionError as exc:
            if exc.answer is not None:
                view = answer_mimebundle(exc.answer)
                live.finish(view) if live is not None else display(view, raw=True)
                self.ip.displayhook.update_user_ns(exc.answer)
            raise UsageError(str(exc)) from None
        except MissingKeyError as exc:
            raise UsageError(
                f"{exc} The tile plan and cost above are what it would cost."
            ) from None
        except GrokError as exc:
            raise UsageError(str(exc)) from None
        bundle = answer_mimebundle(answer)
        offline = _offline_note()
        if offline:
            bundle["text/markdown"] += f"<br><small>{offline}</small>"
        if live is not None:
            live.finish(bundle)
        else:
            display(bundle, raw=True)
        return answer

    # --- line magics --------------------------------------------------------

    @line_magic
    def grokvision_usage(self, line: str = "") -> Any:
        """This kernel's calls, tokens (estimated and billed) and spend."""

        if line.strip() == "clear":
            LEDGER.clear()
            return None
        display(usage_mimebundle(LEDGER), raw=True)
        return None

    @line_magic
    def grokvision_tiles(self, line: str) -> None:
        """The interactive tile explorer for each image named on the line."""
        # lazy: anywidget and ipywidgets load only when an explorer is made
        from grok_nb.notebook.explorer import TileExplorer

        tokens = split_line(line, "%grokvision_tiles")
        images = [img for token in tokens for img in self._resolve_token(token)]
        if not images:
            last = self.capture.last
            if last is None:
                raise UsageError("%grokvision_tiles needs an image (or one displayed earlier)")
            if not last.sendable:
                raise UsageError(f"%grokvision_tiles: no image named, and {last.why_not()}")
            images = [Labelled(last.source, last.description)]
        try:
            explorers = [
                TileExplorer(
                    getattr(img, "source", img),
                    model=self.settings.model,
                    label=getattr(img, "label", None),
                )
                for img in images
            ]
        except GrokError as exc:
            raise UsageError(str(exc)) from None
        for ex in explorers:
            display(ex)
        if len(explorers) > 1:
            total = sum(ex.plan.tokens for ex in explorers)
            costs = [ex.plan.cost_usd(self.settings.model) for ex in explorers]
            cost = None if None in costs else sum(c or 0.0 for c in costs)
            text = f"{len(explorers)} images · {total:,} image tokens · ≈ {format_usd(cost)}"
            display({"text/markdown": f"**{text}**", "text/plain": text}, raw=True)

    @line_magic
    def grokvision_cache(self, line: str = "") -> None:
        """The response cache: size, hits, money saved; ``%grokvision_cache clear`` empties it."""

        cache = response_cache(resolve_options())
        action = line.strip()
        if action == "clear":
            removed = cache.clear()
            store = prepared_store(resolve_options())
            images = store.clear() if store is not None else 0
            text = (
                f"Removed {removed} cached answer{'s' if removed != 1 else ''} "
                f"and {images} prepared image{'s' if images != 1 else ''}."
            )
        elif action:
            raise UsageError(
                f"%grokvision_cache: unknown action {action!r}; use 'clear' or nothing"
            )
        else:
            st = cache.stats()
            text = (
                f"{st.entries} cached answers · {st.bytes / 1024:.0f} KiB · "
                f"{st.hits} hits · saved {format_usd(st.saved_usd)} · {st.path}"
            )
        display({"text/markdown": text, "text/plain": text}, raw=True)

    @line_magic
    def grokvision_calibration(self, line: str = "") -> None:
        """The rule in force and what ``calibrate()`` learned, per endpoint and model.

        ``%grokvision_calibration forget`` forgets every calibration;
        ``forget here`` only the one for the current endpoint and model.
        """

        action = line.split()
        try:
            endpoint = resolve_base_url(self.settings.base_url)
        except GrokError as exc:
            raise UsageError(str(exc)) from None
        model = self.settings.model
        if action in (["forget"], ["forget", "here"]):
            here = action == ["forget", "here"]
            n = forget_calibration(endpoint if here else None, model if here else None)
            text = f"Forgot {n} calibration{'s' if n != 1 else ''}."
            display({"text/markdown": text, "text/plain": text}, raw=True)
            return
        if action:
            raise UsageError(
                f"%grokvision_calibration: unknown action {line.strip()!r}; "
                "use nothing, 'forget' or 'forget here'"
            )
        choice = rule_in_force(model=model, endpoint=endpoint)
        now = f"Rule in force for {model} at {endpoint}: {choice.describe()}."
        rows = ["| endpoint | model | rule | calibrated |", "|---|---|---|---|"]
        plain = [now]
        for e in calibrations():
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(e.when))
            rule = e.rule or "no rule matched"
            rows.append(f"| {e.endpoint} | {e.model} | {rule} | {when} |")
            plain.append(f"{e.endpoint}  {e.model}  {rule}  {when}")
        table = "\n".join(rows) if len(rows) > 2 else "*No calibrations stored.*"
        if len(rows) == 2:
            plain.append("No calibrations stored.")
        md = f"**{now}**\n\n{table}"
        display({"text/markdown": md, "text/plain": "\n".join(plain)}, raw=True)

    @line_magic
    def grokvision_models(self, line: str = "") -> None:
        """Vision-capable models and their prices (from the API; offline, a dated table)."""

        client = Client(base_url=self.settings.base_url)
        try:
            models = [
                m for m in language_models(client, refresh=line.strip() == "refresh") if m.vision
            ]
        except GrokError as exc:
            raise UsageError(str(exc)) from None
        finally:
            client.close()
        sources = sorted({m.source for m in models}) or ["no models listed"]
        display(models_mimebundle(models, "; ".join(sources)), raw=True)


def load_ipython_extension(ipython: Any) -> None:
    magics = GrokVisionMagics(ipython)
    ipython.register_magics(magics)
    register_simulate_magic(ipython)
    register_batch_magic(ipython)  # %grokvision_batch (notebook/batch_magic.py)
    ipython.register_magics(ChatMagics(ipython))
    magics.capture.install()
    ipython._grok_nb_magics = magics


def unload_ipython_extension(ipython: Any) -> None:
    magics = getattr(ipython, "_grok_nb_magics", None)
    if magics is not None:
        magics.capture.uninstall()
