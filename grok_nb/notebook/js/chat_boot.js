// The chat panel's _esm: a small loader, so each Chat's saved widget state is small.
//
// The panel's code (chat.js) and its helpers (tiles.js, usd.js, chat_estimate.js,
// markdown.js) and CSS live once per kernel in a shared ChatAssets model, referenced by
// the `_assets` trait ("IPY_MODEL_<id>"). They are imported from Blob URLs, once per
// page whatever the number of panels.

const loaded = new Map(); // module source -> Promise<module>

function loadModule(source) {
  if (!loaded.has(source)) {
    const url = URL.createObjectURL(new Blob([source], { type: "text/javascript" }));
    const mod = import(/* webpackIgnore: true */ /* @vite-ignore */ url);
    mod.finally(() => URL.revokeObjectURL(url));
    loaded.set(source, mod);
  }
  return loaded.get(source);
}

function addCss(css) {
  const id = "grok-chat-css";
  let style = document.getElementById(id);
  if (!style) {
    style = document.createElement("style");
    style.id = id;
    document.head.append(style);
  }
  if (style.textContent !== css) style.textContent = css;
}

async function modules(model) {
  const ref = String(model.get("_assets") || "").replace(/^IPY_MODEL_/, "");
  const assets = await model.widget_manager.get_model(ref);
  addCss(assets.get("css"));
  const names = ["chat_js", "tiles_js", "usd_js", "estimate_js", "markdown_js"];
  const [chat, T, usd, estimate, markdown] = await Promise.all(names.map((n) => loadModule(assets.get(n))));
  return { chat, T, usd, estimate, markdown };
}

export default {
  async render({ model, el }) {
    const m = await modules(model);
    return m.chat.render({ model, el, ...m });
  },
};
