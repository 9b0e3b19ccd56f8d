/* Options: the app's address (and the host permission for it), and the LAN login. */
const $ = (id) => document.getElementById(id);
const perms = (typeof browser !== "undefined" && browser.permissions) ? browser : chrome;

function say(text, error = false) {
  $("status").textContent = text;
  $("status").className = error ? "error" : "";
}

function cleanAddress(value) {
  const url = new URL(value.trim() || AF_DEFAULT_ADDRESS);
  if (!/^https?:$/.test(url.protocol)) throw new Error("The address starts with http:// or https://.");
  return url.origin;
}

async function save() {
  let address;
  try { address = cleanAddress($("address").value); } catch (e) {
    say(e.message.startsWith("The address") ? e.message :
      "That is not an address; write it like http://127.0.0.1:8765.", true);
    return;
  }
  const host = new URL(address).hostname;
  if (host !== "127.0.0.1" && host !== "localhost") {
    const granted = await perms.permissions.request({origins: [`${address}/*`]});
    if (!granted) { say("The extension needs your permission to reach that address.", true); return; }
  }
  await afSaveSettings({address});
  $("address").value = address;
  try {
    await afApi("/api/jobs?limit=1");
    say(`Saved: AudioFetch answers at ${address}.`);
  } catch (e) {
    say(`Saved. ${e.message}`, true);
  }
}

async function login() {
  const password = $("password").value;
  $("password").value = "";
  try {
    const answer = await afApi("/api/auth/login", {method: "POST", body: {password}});
    await afSaveSettings({token: answer.token});
    say("Logged in.");
  } catch (e) {
    say(e.message, true);
  }
}

async function logout() {
  await afSaveSettings({token: ""});
  say("The login is forgotten.");
}

(async () => {
  const settings = await afSettings();
  $("address").value = settings.address;
})();
$("save").addEventListener("click", save);
$("login").addEventListener("click", login);
$("logout").addEventListener("click", logout);
