// The page's language: English or Simplified Chinese, one catalogue each
// (i18n/en.js, i18n/zh.js). Chosen from what the user picked before
// (localStorage), else from the browser's language (zh* -> Chinese).
// Switching saves the choice and reloads the page, which is then written
// in the other language from the start. Names from the configuration come
// in Chinese where it gives `name_zh` (/api/config's `names_zh`); text the
// server makes up (reasons, notes, alerts) is shown as it comes.
import en from "./i18n/en.js";
import zh from "./i18n/zh.js";

const CATALOGUES = { en, zh };
const KEY = "dispatch-lang";

function pick() {
  let saved = null;
  try { saved = localStorage.getItem(KEY); } catch { /* storage off: go by the browser */ }
  if (saved && saved in CATALOGUES) return saved;
  return /^zh\b/i.test(navigator.language ?? "") ? "zh" : "en";
}

export const lang = pick();
const catalogue = CATALOGUES[lang];

// The string of `key` with `{name}` replaced by params.name (as given: a
// caller writing HTML escapes the values first).
export function t(key, params) {
  const s = catalogue[key] ?? en[key] ?? key;
  return params ? s.replace(/\{(\w+)\}/g, (m, k) => (k in params ? String(params[k]) : m)) : s;
}

// The other language's code, for the header's 中/EN toggle.
export function otherLang() {
  return lang === "zh" ? "en" : "zh";
}

export function switchLang() {
  try { localStorage.setItem(KEY, otherLang()); } catch { /* not remembered */ }
  location.reload();
}

// An enum value's text (`status`, `on_scene` -> "on scene"), the value
// itself when the catalogue does not know it.
export function label(group, value) {
  const key = `${group}.${value}`;
  return key in catalogue || key in en ? t(key) : String(value ?? "");
}

// A configured name in the page's language: `names_zh[group][id]` in
// Chinese when the configuration gives one, else `fallback`.
export function localName(config, group, id, fallback) {
  if (lang !== "zh") return fallback;
  const names = config?.names_zh;
  const zhName = group === "scenario" ? names?.scenario : names?.[group]?.[id];
  return zhName ?? fallback;
}

// The page's fixed texts: elements marked data-i18n (text), data-i18n-html
// (markup from the catalogue), data-i18n-placeholder, data-i18n-title and
// data-i18n-aria-label.
export function applyStatic(root = document) {
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-html]")) el.innerHTML = t(el.dataset.i18nHtml);
  for (const el of root.querySelectorAll("[data-i18n-placeholder]")) el.placeholder = t(el.dataset.i18nPlaceholder);
  for (const el of root.querySelectorAll("[data-i18n-title]")) el.title = t(el.dataset.i18nTitle);
  for (const el of root.querySelectorAll("[data-i18n-aria-label]")) el.setAttribute("aria-label", t(el.dataset.i18nAriaLabel));
}
