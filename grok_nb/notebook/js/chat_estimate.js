// The chat panel's estimate for the next message: the JS twin of grok_nb.estimate.
//
// Recomputed in the browser on every keystroke and every attached image, with no
// kernel round trip. It mirrors Python's arithmetic step by step (the same IEEE
// operations in the same order), and tests/test_chat_estimate.py holds the two to the
// same answers: text at one token per four characters (code points, as Python's len
// counts them) of every message sent, images by their tile plans (tiles.js), all at
// the prompt rate, doubled at the long-context tier; plus max_tokens of answer.
//
// Pure: tiles.js is passed in (`T`), so Node tests and the widget share this file.

/** Code points in `text` (Python's len), without building an array per keystroke. */
export function codePoints(text) {
  let n = text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n--;
        i++;
      }
    }
  }
  return n;
}

/** grok_nb.pricing.ModelPrice.cost for prompt or completion tokens alone. */
export function cost(price, { promptTokens = 0, completionTokens = 0, longContext = null }, constants) {
  const cached = price.cached_prompt == null ? price.prompt : price.cached_prompt;
  const image = price.image == null ? price.prompt : price.image;
  const uncached = Math.max(promptTokens, 0);
  const usd = (uncached * price.prompt + 0 * cached + 0 * image + completionTokens * price.completion) / 1_000_000;
  const lc = longContext == null ? promptTokens >= constants.long_context_tokens : longContext;
  return lc ? usd * constants.long_context_factor : usd;
}

/**
 * The next message's estimate.
 *   T: tiles.js; text: the prompt typed so far; images: [{width, height}] pending;
 *   ctx: {history_chars, history_image_tokens, system_chars, max_tokens,
 *         chars_per_token, long_context_tokens, long_context_factor};
 *   price: {prompt, cached_prompt, completion, image} per million, or null (unknown);
 *   rule, detail, rules: as tiles.js plan() takes them.
 * Returns {plans, imageTokens, textTokens, promptUsd, worstUsd} (USD null: unknown).
 */
export function estimateNext(T, { text, images, ctx, price, rule, detail, rules }) {
  const plans = images.map((im) => (im.width && im.height ? T.plan(im.width, im.height, { rule, detail, rules }) : null));
  const chars = ctx.history_chars + ctx.system_chars + codePoints(text);
  const textTokens = Math.ceil(chars / ctx.chars_per_token);
  let imageTokens = ctx.history_image_tokens;
  for (const p of plans) if (p) imageTokens += p.tokens;
  let promptUsd = null;
  let worstUsd = null;
  if (price) {
    const constants = { long_context_tokens: ctx.long_context_tokens, long_context_factor: ctx.long_context_factor };
    promptUsd = cost(price, { promptTokens: textTokens + imageTokens }, constants);
    const completion = ctx.max_tokens ? cost(price, { completionTokens: ctx.max_tokens }, constants) : 0;
    worstUsd = promptUsd + completion;
  }
  return { plans, imageTokens, textTokens, promptUsd, worstUsd, newImageTokens: imageTokens - ctx.history_image_tokens };
}
