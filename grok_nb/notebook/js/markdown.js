// A tiny, safe Markdown renderer for the chat panel's answers.
//
// Safety first: the text is HTML-escaped before any markup is added, and the only
// tags produced are the fixed ones below (no links, images or raw HTML pass through),
// so a model's answer can never inject markup or script. Covered: fenced code blocks,
// inline code, **bold**, *italic*, # headings, - and 1. lists, paragraphs, line breaks.
// An unfinished fence (mid-stream) renders as code so far.

const ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

export function escapeHtml(text) {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

function inline(escaped) {
  // code spans first, so their contents are not read as emphasis
  const spans = [];
  let out = escaped.replace(/`([^`\n]+)`/g, (_, code) => {
    spans.push(`<code>${code}</code>`);
    return `\u0000${spans.length - 1}\u0000`;
  });
  out = out
    .replace(/\*\*([^*\n]+)\*\*/g, "<strong>$1</strong>")
    .replace(/(^|[^*\w])\*([^*\s][^*\n]*?)\*(?!\w)/g, "$1<em>$2</em>")
    .replace(/(^|[^_\w])_([^_\s][^_\n]*?)_(?!\w)/g, "$1<em>$2</em>");
  return out.replace(/\u0000(\d+)\u0000/g, (_, i) => spans[Number(i)]);
}

function listItem(line) {
  const m = /^\s*(?:([-*+])|(\d+)[.)])\s+(.*)$/.exec(line);
  return m ? { ordered: !m[1], text: m[3] } : null;
}

/** Markdown text -> an HTML string made only of escaped text and fixed tags. */
export function renderMarkdown(text) {
  const lines = escapeHtml(text).split("\n");
  const out = [];
  let para = [];
  let list = null; // {ordered, items}
  const flushPara = () => {
    if (para.length) out.push(`<p>${para.map(inline).join("<br>")}</p>`);
    para = [];
  };
  const flushList = () => {
    if (!list) return;
    const tag = list.ordered ? "ol" : "ul";
    out.push(`<${tag}>${list.items.map((i) => `<li>${inline(i)}</li>`).join("")}</${tag}>`);
    list = null;
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const fence = /^\s*```(.*)$/.exec(line);
    if (fence) {
      flushPara();
      flushList();
      const code = [];
      i++;
      while (i < lines.length && !/^\s*```\s*$/.test(lines[i])) code.push(lines[i++]);
      const lang = fence[1].trim().replace(/[^\w+-]/g, "");
      out.push(`<pre><code${lang ? ` data-lang="${lang}"` : ""}>${code.join("\n")}</code></pre>`);
      continue;
    }
    const heading = /^(#{1,6})\s+(.*)$/.exec(line);
    if (heading) {
      flushPara();
      flushList();
      const level = Math.min(heading[1].length + 2, 6); // answers sit under the notebook's headings
      out.push(`<h${level}>${inline(heading[2])}</h${level}>`);
      continue;
    }
    const item = listItem(line);
    if (item) {
      flushPara();
      if (list && list.ordered !== item.ordered) flushList();
      if (!list) list = { ordered: item.ordered, items: [] };
      list.items.push(item.text);
      continue;
    }
    if (!line.trim()) {
      flushPara();
      flushList();
      continue;
    }
    flushList();
    para.push(line);
  }
  flushPara();
  flushList();
  return out.join("");
}
