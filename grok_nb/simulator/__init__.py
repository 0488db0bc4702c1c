"""An offline, xAI-compatible server for demos, tests and your own CI.

``serve()`` runs a real HTTP server on 127.0.0.1 that speaks the Chat Completions,
``/models`` and ``/language-models`` wire format. It validates requests the way
the service does, decodes every image, and answers with a deterministic,
clearly-labelled description (size, tile plan, colours) — it never pretends to
be a model. Usage and ``cost_in_usd_ticks`` are computed with a chosen tile rule.
Faults (429, 5xx, spent credits, wrong key, stalls, resets, malformed events)
can be scripted per request::

    from grok_nb import simulator, Client

    with simulator.serve(rule="xai-guide") as sim:
        sim.inject("429", retry_after=1)
        client = Client(api_key="sim", base_url=sim.base_url)
        ...

or across notebook cells: ``sim = simulator.serve()`` starts it and returns at once;
``sim.stop()`` stops it (``sim.running`` says which). In a notebook,
``%grokvision_simulate`` does that for the kernel and points grok_nb at it, no key
needed. Every simulator's base URL ends in ``/grok_nb-simulator/v1``, so its answers
are cached under one identity whatever the port — never as a real endpoint's.

From the shell: ``grok-nb simulate --port 8000`` (or ``python -m grok_nb.simulator``).
The simulator shares nothing with ``grok_nb.api.client``: they meet only on the wire.
"""

from __future__ import annotations

from grok_nb.simulator.command import main
from grok_nb.simulator.faults import Fault
from grok_nb.simulator.server import PATH_PREFIX, Simulator, serve

__all__ = ["PATH_PREFIX", "Fault", "Simulator", "main", "serve"]
