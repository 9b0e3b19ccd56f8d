/* What the page really plays, read from the live page (runs inside the page through
 * chrome.scripting.executeScript, so it must stand alone: no imports, no closures).
 *
 * Returns {url, title, space, media: [{url, title, kind, mime}]} where kind is
 * "element" (a media element's currentSrc or src), "source" (one of its <source> children)
 * or "request" (a Resource Timing entry the page fetched). Elements come in document order,
 * requests in the order they started. `space` is the Space link on an X Space's page.
 */
function audiofetchCollect() {
  const MEDIA_EXT = /\.(mp3|m4a|m4b|aac|ogg|oga|opus|flac|wav|weba|webm|m3u8|mpd)(\?|#|$)/i;
  const SPACE = /^https:\/\/(?:mobile\.)?(?:x|twitter)\.com\/i\/spaces\/([A-Za-z0-9]{13})/;
  const clean = (text) => (text || "").replace(/\s+/g, " ").trim().slice(0, 200);
  const absolute = (value) => {
    try { return new URL(value, document.baseURI).href; } catch (e) { return ""; }
  };
  const nearbyTitle = (el) => {
    const own = el.getAttribute("title") || el.getAttribute("aria-label") ||
      el.dataset.title || "";
    if (clean(own)) return clean(own);
    const figure = el.closest("figure");
    const caption = figure && figure.querySelector("figcaption");
    if (caption && clean(caption.textContent)) return clean(caption.textContent);
    // The nearest text before the element: a heading or label beside the player.
    let node = el;
    for (let depth = 0; node && depth < 4; depth += 1, node = node.parentElement) {
      let sibling = node.previousElementSibling;
      while (sibling) {
        const text = clean(sibling.textContent);
        if (text) return text;
        sibling = sibling.previousElementSibling;
      }
    }
    return "";
  };
  const media = [];
  const seen = new Set();
  const add = (url, title, kind, mime) => {
    if (!/^https?:/i.test(url) || seen.has(url)) return;
    seen.add(url);
    media.push({url, title: clean(title), kind, mime: mime || null});
  };
  for (const el of document.querySelectorAll("audio, video")) {
    const title = nearbyTitle(el);
    if (el.currentSrc) add(el.currentSrc, title, "element", el.getAttribute("type"));
    else if (el.getAttribute("src")) add(absolute(el.getAttribute("src")), title, "element");
    for (const source of el.querySelectorAll("source[src]")) {
      add(absolute(source.getAttribute("src")), title, "source", source.getAttribute("type"));
    }
  }
  for (const entry of performance.getEntriesByType("resource")) {
    const byType = entry.initiatorType === "audio" || entry.initiatorType === "video";
    if (byType || MEDIA_EXT.test(entry.name)) add(entry.name, "", "request");
  }
  const here = SPACE.exec(location.href);
  return {url: location.href, title: clean(document.title), space: here ? here[0] : null,
    media};
}
