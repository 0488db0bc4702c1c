"""``submit_batch`` / ``BatchJob`` against the simulator's Batch API: results in order,
the same cache keys as ``ask``, the budget at the batch price, refused models, limits,
lost replies without duplicates, per-request errors, expiry and cancellation."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest
from PIL import Image

import grok_nb
from grok_nb import BudgetExceeded, batch_upload
from grok_nb.batch import ask_many
from grok_nb.batch_api import BatchJob, BatchRequestError, batch_jobs, submit_batch
from grok_nb.batch_upload import AddLimiter, NotBatchEnabled


def images(n: int) -> list[Image.Image]:
    return [Image.new("RGB", (200 + 10 * i, 150), (20 * i % 255, 90, 160)) for i in range(n)]


@pytest.fixture(autouse=True)
def _fast(sim: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A fresh add window per test (each test has its own simulator, its own "team")."""
    monkeypatch.setattr(batch_upload, "ADD_LIMITER", AddLimiter(100, 30.0))
    monkeypatch.setattr(batch_upload.CREATE_LIMITER, "last", 0.0)
    sim.batches.seconds = 0.05
    yield
    from grok_nb import batch_api

    for client in batch_api._clients.values():  # each test's simulator has its own URL
        client.close()
    batch_api._clients.clear()


def _wait(job: BatchJob) -> Any:
    return job.wait(progress=False, poll_s=0.02, max_poll_s=0.1)


def test_submit_wait_results_in_order_and_cached_for_ask(sim: Any) -> None:
    items = images(6)
    job = submit_batch(items, "Describe.")
    assert job.id.startswith("batch_sim_")
    status = _wait(job)
    assert (status.succeeded, status.failed, status.pending) == (6, 0, 0)
    answers = job.results()
    assert len(answers) == 6
    for a, img in zip(answers, items, strict=True):
        assert a.error is None and a.finish_reason == "stop"
        assert f"{img.width}×{img.height}" in a.text
        assert a.usage is not None and a.usage.cost_in_usd_ticks
    assert status.cost_usd == pytest.approx(sum(a.cost_usd or 0 for a in answers))
    assert sim.requests == []  # nothing went through the live chat route
    # the same request asked interactively is served from the cache: free, nothing sent
    again = grok_nb.ask("Describe.", items[3])
    assert again.cached and again.text == answers[3].text and sim.requests == []
    frame = job.to_frame()
    assert list(frame["batch_request_id"]) == [f"r{n:06d}" for n in range(6)]
    assert [j.id for j in batch_jobs()] == [job.id]
    assert BatchJob.attach(job.id).results()[0].text == answers[0].text
    assert all(r.collections == 1 for r in job.journal.rows(job.id))
    assert set(sim.batches.received.values()) == {1}


def test_resubmitting_the_same_items_returns_the_same_job(sim: Any) -> None:
    items = images(3)
    job = submit_batch(items, "Describe.")
    _wait(job)
    assert submit_batch(items, "Describe.").id == job.id
    assert set(sim.batches.received.values()) == {1}


def test_items_already_cached_are_not_sent(sim: Any) -> None:
    items = images(3)
    first = grok_nb.ask("Describe.", items[0])
    job = submit_batch(items, "Describe.")
    _wait(job)
    answers = job.results()
    assert answers[0].cached and answers[0].cost_usd == 0 and answers[0].text == first.text
    assert sorted(sim.batches.received) == ["r000001", "r000002"]


def test_ask_many_via_batch_returns_what_ask_many_returns(sim: Any) -> None:
    items = images(4)
    live = ask_many(items, "Describe.", progress=False, cache="off")
    batched = ask_many(items, "Describe.", via="batch", progress=False, cache="off")
    assert len(batched) == len(live) == 4
    for a, b in zip(live, batched, strict=True):
        assert a.finish_reason == b.finish_reason == "stop"
        assert a.usage is not None and b.usage is not None
        assert b.usage.prompt_tokens == a.usage.prompt_tokens
        assert (b.cost_usd or 0) < (a.cost_usd or 0)  # the batch price
    with pytest.raises(grok_nb.ConfigError, match="via"):
        ask_many(items, "Describe.", via="carrier pigeon")


def test_budget_at_the_batch_price_refuses_before_anything_is_sent(sim: Any) -> None:
    with pytest.raises(BudgetExceeded, match=r"20 %.*nothing was sent"):
        submit_batch(images(20), "Describe.", max_batch_cost_usd=0.0001)
    assert sim.log == []


def test_the_estimate_is_conservative(sim: Any) -> None:
    job = submit_batch(images(3), "Describe.")
    _wait(job)
    assert job.record.estimate_usd is not None and "20 %" in job.record.price_note
    assert job.status().cost_usd <= job.record.estimate_usd  # billed at 50 % off here


def test_a_model_that_is_not_batch_enabled_is_refused_with_the_api_reason(sim: Any) -> None:
    with pytest.raises(NotBatchEnabled, match=r"not batch-enabled.*not supported by the batch"):
        submit_batch(images(2), "Describe.", model="grok-4.7")
    creates = [e for e in sim.log if e[:2] == ("POST", "/v1/batches")]
    with pytest.raises(NotBatchEnabled):
        submit_batch(images(2), "Describe.", model="grok-4.7")
    assert [e for e in sim.log if e[:2] == ("POST", "/v1/batches")] == creates  # learnt
    assert [j.record.state for j in batch_jobs()] == ["cancelled"]


def test_add_calls_stay_within_the_size_limit(sim: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(batch_upload.LIMITS, "max_add_bytes", 3_000)
    items = images(12)
    job = submit_batch(items, "Describe.")
    _wait(job)
    assert job.add_stats.add_calls > 1
    assert max(sim.batches.add_sizes) <= 3_000
    assert job.add_stats.largest_add_bytes == max(sim.batches.add_sizes)
    assert all(a.error is None for a in job.results())


def test_a_request_too_big_for_one_add_fails_alone(
    sim: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(batch_upload.LIMITS, "max_add_bytes", 6_000)
    items: list[Any] = images(2)
    items.insert(1, Image.effect_noise((1200, 900), 80).convert("RGB"))
    job = submit_batch(items, "Describe.")
    _wait(job)
    answers = job.results()
    assert answers[0].error is None and answers[2].error is None
    assert isinstance(answers[1].error, BatchRequestError) and "MB limit" in str(answers[1].error)


def test_add_calls_per_window_are_limited() -> None:
    now = [0.0]
    slept: list[float] = []

    def sleep(s: float) -> None:
        slept.append(s)
        now[0] += s

    limiter = AddLimiter(100, 30.0, clock=lambda: now[0], sleep=sleep)
    for _ in range(250):
        limiter.acquire()
        now[0] += 0.01
    assert len(slept) == 2 and now[0] >= 60.0
    times = list(limiter.calls)
    assert all(b - a >= 0 for a, b in itertools.pairwise(times))


def test_one_batch_created_per_second(sim: Any) -> None:
    a = submit_batch(images(1), "One.")
    b = submit_batch(images(1), "Two.")
    assert a.id != b.id
    assert not any(status == 429 for _, _, status in sim.log)  # the simulator enforces 1/s


def test_a_bounded_pipeline_never_holds_every_prepared_request() -> None:
    from grok_nb.batch_journal import Journal

    built, added, peak = [0], [0], [0]

    class FakeAPI:
        def add(self, batch_id: str, data: bytes) -> None:
            added[0] += data.count(b'"batch_request_id"')

        def request_ids(self, batch_id: str) -> set[str]:
            return set()

    def build(n: Any) -> dict[str, Any]:
        built[0] += 1
        peak[0] = max(peak[0], built[0] - added[0])
        return {"model": "m", "messages": [{"role": "user", "content": "x" * 1000}]}

    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        journal = Journal(f"{folder}/j.sqlite3")
        limits = batch_upload.Limits(max_requests_per_add=10, prefetch=8, prepare_workers=2)
        stats = batch_upload.add_rows(
            FakeAPI(), journal, "b", [(f"r{n}", n) for n in range(500)],  # type: ignore[arg-type]
            build, model="m", limits=limits, limiter=AddLimiter(10**6, 1.0),
        )  # fmt: skip
        journal.close()
    assert added[0] == 500 and stats.add_calls == 50
    assert peak[0] <= 10 + 8 + 2  # one add call's worth + the prefetch window + workers


def test_a_429_on_add_is_waited_out_without_duplicates(sim: Any) -> None:
    sim.inject("429", retry_after=0.05, path="/requests")
    job = submit_batch(images(4), "Describe.")
    _wait(job)
    assert all(a.error is None for a in job.results())
    assert set(sim.batches.received.values()) == {1}
    assert any(s == 429 for _, _, s in sim.log)


def test_an_add_whose_reply_is_lost_is_checked_not_duplicated(
    sim: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(batch_upload.LIMITS, "max_requests_per_add", 2)
    sim.inject("reset", path="/requests")  # the first add is done, its reply never arrives
    job = submit_batch(images(5), "Describe.")
    _wait(job)
    assert job.add_stats.unknown_outcomes == 1 and job.add_stats.reconciled == 2
    assert sorted(sim.batches.received) == [f"r{n:06d}" for n in range(5)]
    assert set(sim.batches.received.values()) == {1}  # never a duplicate
    assert all(a.error is None for a in job.results())  # never a gap


def test_per_request_errors_fail_alone(sim: Any) -> None:
    sim.batches.fail["r000001"] = "Image could not be processed"
    job = submit_batch(images(3), "Describe.")
    status = _wait(job)
    assert (status.succeeded, status.failed) == (2, 1)
    answers = job.results()
    assert answers[0].error is None and answers[2].error is None
    assert answers[1].finish_reason == "error" and "could not be processed" in str(answers[1].error)


def test_expired_requests_come_back_as_failures(sim: Any) -> None:
    sim.batches.seconds, sim.batches.expire_after_s = 30.0, 0.2
    job = submit_batch(images(3), "Describe.")
    status = _wait(job)
    assert status.failed == 3
    assert all("expired" in str(a.error) for a in job.results())


def test_a_cancelled_batch_keeps_what_finished(sim: Any) -> None:
    import time

    sim.batches.seconds, sim.batches.stagger_s = 0.0, 5.0  # r0 at once, the rest later
    items = images(4)
    job = submit_batch(items, "Describe.")
    time.sleep(0.1)
    status = job.cancel()
    assert (status.succeeded, status.cancelled) == (1, 3)
    answers = job.results()
    assert answers[0].error is None and f"{items[0].width}×" in answers[0].text
    assert all("cancelled" in str(a.error) for a in answers[1:])
    assert job.status().cost_usd == pytest.approx(answers[0].cost_usd)


def test_a_cancellation_from_elsewhere_mid_run(sim: Any) -> None:
    sim.batches.seconds, sim.batches.stagger_s = 0.0, 5.0
    job = submit_batch(images(3), "Describe.")
    import time

    time.sleep(0.1)
    sim.batches.cancel(job.id)
    status = _wait(job)
    assert (status.succeeded, status.cancelled, status.pending) == (1, 2, 0)
    assert job.results()[0].error is None


def test_the_magic_lists_and_reports(sim: Any, capsys: pytest.CaptureFixture[str]) -> None:
    from IPython.core.interactiveshell import InteractiveShell

    from grok_nb.notebook.batch_magic import register

    shell = InteractiveShell.instance()
    register(shell)
    job = submit_batch(images(2), "Describe.")
    _wait(job)
    shell.run_line_magic("grokvision_batch", "list")
    shell.run_line_magic("grokvision_batch", f"status {job.id}")
    out = capsys.readouterr().out
    assert job.id in out and "2 succeeded" in out
    frame = shell.run_line_magic("grokvision_batch", f"results {job.id}")
    assert len(frame) == 2
    from IPython.core.error import UsageError

    with pytest.raises(UsageError, match="usage"):
        shell.run_line_magic("grokvision_batch", "frobnicate")
    with pytest.raises(UsageError, match="not in this machine's journal"):
        shell.run_line_magic("grokvision_batch", "status batch_nope")
