/* The context menu: "Save audio with AudioFetch" on pages, links and media elements. A page
 * (or a media element) opens the popup's list for that tab in a small window; a link is
 * handed to AudioFetch as it is. */
if (typeof importScripts === "function") importScripts("collect.js", "app.js");

const afApi2 = (typeof browser !== "undefined" && browser.contextMenus) ? browser : chrome;
const MENU_ID = "audiofetch-save";

afApi2.runtime.onInstalled.addListener(() => {
  afApi2.contextMenus.create({id: MENU_ID, title: "Save audio with AudioFetch",
    contexts: ["page", "link", "audio", "video"]});
});

afApi2.contextMenus.onClicked.addListener(async (info, tab) => {
  if (info.menuItemId !== MENU_ID) return;
  const params = new URLSearchParams({tab: String(tab ? tab.id : "")});
  if (info.linkUrl) params.set("link", info.linkUrl);
  else if (info.srcUrl && /^https?:/.test(info.srcUrl)) params.set("media", info.srcUrl);
  await afApi2.windows.create({url: afApi2.runtime.getURL(`popup.html?${params}`),
    type: "popup", width: 440, height: 600});
});
