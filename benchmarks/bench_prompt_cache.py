"""What prompt caching saves on a five-turn conversation about two images.

A 12 MP photo (4000 x 3000) and a chart (1600 x 1000) are asked about in turn 1; four
follow-ups resend them with the growing history (a Conversation never edits earlier
turns). The simulator bills every turn at grok-4.3's list prices ($1.25 / $0.20
cached / $2.50 per million tokens), once with the conversation id sent (header
``x-grok-conv-id`` on Chat, ``prompt_cache_key`` on Responses) and once without; the
dollars are what the simulator billed (``cost_in_usd_ticks``), side by side.

Run: python benchmarks/bench_prompt_cache.py   (target: >= 3x cheaper with ids)
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PIL import Image

from grok_nb import simulator
from grok_nb.api.client import Client
from grok_nb.calls import plan_call
from grok_nb.pricing import format_usd

MODEL = "grok-4.3"
QUESTIONS = [
    "What does the photo show, and what does the chart plot?",
    "Which part of the photo is brightest?",
    "What is the chart's highest value?",
    "Could the chart describe the scene in the photo?",
    "Summarise both images in one sentence.",
]


def images() -> list[Image.Image]:
    photo = Image.new("RGB", (4000, 3000), (70, 120, 160))
    photo.paste((230, 200, 90), (2500, 400, 3600, 1300))  # a sun
    chart = Image.new("RGB", (1600, 1000), "white")
    for i, h in enumerate((300, 520, 410, 760, 640)):
        chart.paste((40, 90, 200), (150 + i * 280, 900 - h, 330 + i * 280, 900))
    return [photo, chart]


def conversation(sim: simulator.Simulator, api: str, with_id: bool) -> list[tuple[float, float]]:
    """(dollars billed, of which input) per turn."""
    conv_id = f"bench-{api}" if with_id else None
    history: list[dict] = []
    plans: list = []
    billed = []
    with Client(api_key="sim", base_url=sim.base_url) as client:
        for n, question in enumerate(QUESTIONS):
            call = plan_call(
                question, images() if n == 0 else (), history=history, history_plans=plans,
                api=api, model=MODEL, cache="off", conv_id=conv_id, base_url=sim.base_url,
            )  # fmt: skip
            answer = client.chat(call.body, conv_id=conv_id)
            u = answer.usage
            assert u is not None and answer.cost_usd is not None
            output = (u.completion_tokens + u.reasoning_tokens) * 2.50 / 1_000_000
            billed.append((answer.cost_usd, answer.cost_usd - output))
            history += [call.user_message, {"role": "assistant", "content": answer.text}]
            plans += [p.plan for p in call.images if p.plan is not None]
    return billed


def main() -> int:
    ok = True
    with simulator.serve() as sim:
        for api in ("chat", "responses"):
            cold = conversation(sim, api, with_id=False)
            warm = conversation(sim, api, with_id=True)
            print(f"\n{api}: five turns about a 12 MP photo and a chart on {MODEL}")
            print(f"{'turn':>4}  {'no conversation id':>20}  {'with conversation id':>22}")
            for n, (c, w) in enumerate(zip(cold, warm, strict=True), 1):
                print(f"{n:>4}  {format_usd(c[0]):>20}  {format_usd(w[0]):>22}")
            total_c, total_w = sum(c for c, _ in cold), sum(w for w, _ in warm)
            print(f"{'all':>4}  {format_usd(total_c):>20}  {format_usd(total_w):>22}")
            ratio = total_c / total_w
            later = sum(c for c, _ in cold[1:]) / sum(w for w, _ in warm[1:])
            inputs = sum(i for _, i in cold) / sum(i for _, i in warm)
            print(f"with ids: {ratio:.2f}x cheaper in all (target >= 3x); turns 2-5: "
                  f"{later:.2f}x; input tokens only: {inputs:.2f}x")  # fmt: skip
            ok = ok and ratio >= 3
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
