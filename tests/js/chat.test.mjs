// The chat panel's pure helpers: js/markdown.js (safe rendering) and js/chat_estimate.js
// (its parity with grok_nb.estimate is checked from Python in tests/test_chat.py).
// Run: node --test tests/js/
import assert from "node:assert/strict";
import { test } from "node:test";

import * as T from "../../grok_nb/notebook/js/tiles.js";
import { codePoints, estimateNext } from "../../grok_nb/notebook/js/chat_estimate.js";
import { escapeHtml, renderMarkdown } from "../../grok_nb/notebook/js/markdown.js";

test("markup in an answer is escaped, never passed through", () => {
  const html = renderMarkdown('<script>alert(1)</script> <img src=x onerror="y"> **ok**');
  assert.ok(!html.includes("<script") && !html.includes("<img"), html);
  assert.ok(html.includes("&lt;script&gt;") && html.includes("<strong>ok</strong>"), html);
  assert.equal(escapeHtml(`a&b"'`), "a&amp;b&quot;&#39;");
});

test("paragraphs, line breaks, lists, headings and code render", () => {
  const html = renderMarkdown("# Title\n\nline one\nline two\n\n- a\n- *b*\n\n1. x\n\n```py\n<b>\n```\nuse `x<y`");
  assert.ok(html.startsWith("<h3>Title</h3>"), html);
  assert.ok(html.includes("<p>line one<br>line two</p>"), html);
  assert.ok(html.includes("<ul><li>a</li><li><em>b</em></li></ul>"), html);
  assert.ok(html.includes("<ol><li>x</li></ol>"), html);
  assert.ok(html.includes('<pre><code data-lang="py">&lt;b&gt;</code></pre>'), html);
  assert.ok(html.includes("<code>x&lt;y</code>"), html);
});

test("an unfinished code fence (mid-stream) renders as code so far", () => {
  assert.equal(renderMarkdown("```\nlet a"), "<pre><code>let a</code></pre>");
});

test("text counts code points as Python's len does", () => {
  assert.equal(codePoints("a🙂b"), 3);
  assert.equal(codePoints("☃"), 1);
  assert.equal(codePoints("\ud800"), 1); // a lone surrogate is one code point too
});

test("the estimate adds the typed text and each image's plan to the conversation so far", () => {
  const ctx = { history_chars: 10, history_image_tokens: 256, system_chars: 2, max_tokens: 100,
    chars_per_token: 4, long_context_tokens: 200000, long_context_factor: 2 };
  const price = { prompt: 2, cached_prompt: 0.5, completion: 10, image: null };
  const est = estimateNext(T, { text: "four", images: [{ width: 640, height: 480 }, { width: 0, height: 0 }], ctx, price, rule: "xai-guide", detail: "high" });
  const tokens = T.plan(640, 480, { rule: "xai-guide" }).tokens;
  assert.equal(est.textTokens, 4); // ceil(16 / 4)
  assert.equal(est.newImageTokens, tokens);
  assert.equal(est.plans[1], null); // not measured yet: no plan, no tokens
  assert.equal(est.promptUsd, ((4 + 256 + tokens) * 2) / 1e6);
  assert.equal(est.worstUsd, est.promptUsd + (100 * 10) / 1e6);
  assert.equal(estimateNext(T, { text: "", images: [], ctx, price: null, rule: null, detail: "high" }).worstUsd, null);
});
